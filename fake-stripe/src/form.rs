//! Stripe's request encoding: `application/x-www-form-urlencoded` with bracketed nested keys
//! (`line_items[0][price_data][unit_amount]=500`, `metadata[order_id]=…`, `expand[]=…`),
//! decoded into a tree of JSON strings, objects and arrays, and read back with typed accessors
//! that report Stripe's parameter errors.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

use crate::error::ApiError;

/// How many `key=value` pairs one request may carry.
pub const FORM_FIELDS_MAX: usize = 2_000;
/// How deeply keys may nest (`a[b][c]` has depth 3).
pub const KEY_DEPTH_MAX: usize = 8;
/// Stripe's own limit for string parameters.
pub const VALUE_CHARS_MAX: usize = 5_000;
/// How many metadata entries one object may hold (Stripe's limit).
pub const METADATA_KEYS_MAX: usize = 50;
/// How long a metadata key may be (Stripe's limit).
pub const METADATA_KEY_CHARS_MAX: usize = 40;
/// How long a metadata value may be (Stripe's limit).
pub const METADATA_VALUE_CHARS_MAX: usize = 500;

/// Decodes a form body (or a query string) into a JSON object tree whose leaves are strings.
/// Objects whose keys are exactly `0..n` become arrays, as do keys appended with `[]`.
pub fn parse(encoded: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(encoded).map_err(|error| {
        ApiError::invalid_request(None, format!("Invalid form encoding: {error}"))
    })?;
    if pairs.len() > FORM_FIELDS_MAX {
        return Err(ApiError::invalid_request(
            None,
            format!("Too many parameters (at most {FORM_FIELDS_MAX})."),
        ));
    }
    let mut root = Map::new();
    for (key, value) in pairs {
        if value.chars().count() > VALUE_CHARS_MAX {
            return Err(ApiError::invalid_request(
                Some(&key),
                format!("Invalid string: {key} must be at most {VALUE_CHARS_MAX} characters."),
            ));
        }
        let segments = split_key(&key)?;
        insert(&mut root, &key, &segments, value)?;
    }
    Ok(arrays_from_indices(root))
}

/// Splits `a[b][0][]` into `["a", "b", "0", ""]`.
fn split_key(key: &str) -> Result<Vec<&str>, ApiError> {
    let malformed =
        || ApiError::invalid_request(Some(key), format!("Invalid parameter name: {key}"));
    let (head, mut rest) = match key.find('[') {
        Some(position) => key.split_at(position),
        None => (key, ""),
    };
    if head.is_empty() || head.contains(']') {
        return Err(malformed());
    }
    let mut segments = vec![head];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[').ok_or_else(malformed)?;
        let close = inner.find(']').ok_or_else(malformed)?;
        let segment = &inner[..close];
        if segment.contains('[') {
            return Err(malformed());
        }
        segments.push(segment);
        rest = &inner[close + 1..];
    }
    if segments.len() > KEY_DEPTH_MAX {
        return Err(malformed());
    }
    Ok(segments)
}

fn insert(
    node: &mut Map<String, Value>,
    key: &str,
    segments: &[&str],
    value: String,
) -> Result<(), ApiError> {
    let conflict = || {
        ApiError::invalid_request(
            Some(key),
            format!("Conflicting or repeated parameter: {key}"),
        )
    };
    let Some((first, rest)) = segments.split_first() else {
        return Err(conflict());
    };
    // `[]` appends: it names the next free index of the array being built.
    let name = if first.is_empty() {
        node.len().to_string()
    } else {
        (*first).to_owned()
    };
    if rest.is_empty() {
        if node.contains_key(&name) {
            return Err(conflict());
        }
        node.insert(name, Value::String(value));
        return Ok(());
    }
    match node
        .entry(name)
        .or_insert_with(|| Value::Object(Map::new()))
    {
        Value::Object(child) => insert(child, key, rest, value),
        _ => Err(conflict()),
    }
}

fn arrays_from_indices(node: Map<String, Value>) -> Map<String, Value> {
    node.into_iter()
        .map(|(key, value)| (key, convert(value)))
        .collect()
}

fn convert(value: Value) -> Value {
    let Value::Object(map) = value else {
        return value;
    };
    let map = arrays_from_indices(map);
    let mut indexed: BTreeMap<usize, Value> = BTreeMap::new();
    for (key, child) in &map {
        // Only canonical decimal indices count: "01" is a name, not an index.
        match key.parse::<usize>() {
            Ok(index) if index.to_string() == *key => {
                indexed.insert(index, child.clone());
            }
            _ => return Value::Object(map),
        }
    }
    if !indexed.is_empty() && indexed.keys().copied().eq(0..indexed.len()) {
        Value::Array(indexed.into_values().collect())
    } else {
        Value::Object(map)
    }
}

/// Typed, path-aware reading of a decoded parameter object.
#[derive(Debug, Clone)]
pub struct Params<'a> {
    map: &'a Map<String, Value>,
    /// The bracketed path of this object within the request, for error messages.
    prefix: Option<String>,
}

impl<'a> Params<'a> {
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Self { map, prefix: None }
    }

    fn path(&self, name: &str) -> String {
        match &self.prefix {
            Some(prefix) => format!("{prefix}[{name}]"),
            None => name.to_owned(),
        }
    }

    /// Rejects parameters outside `allowed`, like Stripe's "Received unknown parameter".
    pub fn allow_only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.map.keys().find(|key| !allowed.contains(&key.as_str())) {
            Some(unknown) => {
                let path = self.path(unknown);
                Err(ApiError::invalid_request(
                    Some(&path),
                    format!("Received unknown parameter: {path}"),
                ))
            }
            None => Ok(()),
        }
    }

    pub fn string(&self, name: &str) -> Result<Option<&'a str>, ApiError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.as_str())),
            Some(_) => Err(self.invalid(name, "a string")),
        }
    }

    pub fn required_string(&self, name: &str) -> Result<&'a str, ApiError> {
        match self.string(name)? {
            Some(text) if !text.is_empty() => Ok(text),
            _ => Err(self.missing(name)),
        }
    }

    pub fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.string(name)? {
            None => Ok(None),
            Some(text) => text.parse::<i64>().map(Some).map_err(|_| {
                let path = self.path(name);
                ApiError::invalid_request(Some(&path), format!("Invalid integer: {text}"))
                    .with_code("parameter_invalid_integer")
            }),
        }
    }

    pub fn required_integer(&self, name: &str) -> Result<i64, ApiError> {
        self.integer(name)?.ok_or_else(|| self.missing(name))
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.string(name)? {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(self.invalid(name, "a boolean (true or false)")),
        }
    }

    /// A nested object such as `price_data`; absent gives `None`.
    pub fn object(&self, name: &str) -> Result<Option<Params<'a>>, ApiError> {
        match self.map.get_key_value(name) {
            None => Ok(None),
            Some((key, Value::Object(map))) => Ok(Some(Params {
                map,
                prefix: Some(self.path(key)),
            })),
            Some(_) => Err(self.invalid(name, "an object")),
        }
    }

    /// A list of nested objects such as `line_items`; absent gives an empty list.
    pub fn object_list(&self, name: &str) -> Result<Vec<Params<'a>>, ApiError> {
        match self.map.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(index, item)| match item {
                    Value::Object(map) => Ok(Params {
                        map,
                        prefix: Some(format!("{}[{index}]", self.path(name))),
                    }),
                    _ => Err(self.invalid(name, "an array of objects")),
                })
                .collect(),
            Some(_) => Err(self.invalid(name, "an array")),
        }
    }

    /// A list of strings such as `payment_method_types[]` or `expand[]`.
    pub fn string_list(&self, name: &str) -> Result<Vec<&'a str>, ApiError> {
        match self.map.get(name) {
            None => Ok(Vec::new()),
            Some(Value::String(text)) => Ok(vec![text.as_str()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .ok_or_else(|| self.invalid(name, "an array of strings"))
                })
                .collect(),
            Some(_) => Err(self.invalid(name, "an array of strings")),
        }
    }

    /// `metadata[key]=value` pairs within Stripe's limits. An empty value unsets a key, as in Stripe.
    pub fn metadata(&self) -> Result<BTreeMap<String, String>, ApiError> {
        let Some(metadata) = self.object("metadata")? else {
            return Ok(BTreeMap::new());
        };
        if metadata.map.len() > METADATA_KEYS_MAX {
            return Err(self.invalid("metadata", &format!("at most {METADATA_KEYS_MAX} keys")));
        }
        let mut entries = BTreeMap::new();
        for key in metadata.map.keys() {
            let value = metadata.string(key)?.unwrap_or_default();
            if key.chars().count() > METADATA_KEY_CHARS_MAX
                || value.chars().count() > METADATA_VALUE_CHARS_MAX
            {
                return Err(metadata.invalid(
                    key,
                    &format!("a key of at most {METADATA_KEY_CHARS_MAX} and a value of at most {METADATA_VALUE_CHARS_MAX} characters"),
                ));
            }
            if !value.is_empty() {
                entries.insert(key.clone(), value.to_owned());
            }
        }
        Ok(entries)
    }

    /// Stripe's error for a required parameter that is absent.
    pub fn missing(&self, name: &str) -> ApiError {
        ApiError::parameter_missing(&self.path(name))
    }

    fn invalid(&self, name: &str, expected: &str) -> ApiError {
        let path = self.path(name);
        ApiError::invalid_request(Some(&path), format!("Invalid {path}: must be {expected}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(encoded: &str, expected: Value) {
        let parsed = parse(encoded.as_bytes()).unwrap_or_else(|error| panic!("{encoded}: {error}"));
        assert_eq!(Value::Object(parsed), expected, "{encoded}");
    }

    #[test]
    fn nested_keys_become_objects_and_arrays() {
        check("mode=payment", json!({ "mode": "payment" }));
        check(
            "line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=500&line_items%5B0%5D%5Bquantity%5D=1",
            json!({ "line_items": [{ "price_data": { "unit_amount": "500" }, "quantity": "1" }] }),
        );
        check(
            "metadata[order_id]=o%201&metadata[note]=a%26b",
            json!({ "metadata": { "order_id": "o 1", "note": "a&b" } }),
        );
        check("expand[]=a&expand[]=b.c", json!({ "expand": ["a", "b.c"] }));
        check("items[1]=b&items[0]=a", json!({ "items": ["a", "b"] }));
        // Gaps and non-canonical indices stay objects, so list readers reject them.
        check(
            "items[0]=a&items[2]=c",
            json!({ "items": { "0": "a", "2": "c" } }),
        );
        check("items[01]=a", json!({ "items": { "01": "a" } }));
        check("", json!({}));
    }

    #[test]
    fn malformed_or_conflicting_keys_are_rejected() {
        let deep = format!("a{}=1", "[b]".repeat(KEY_DEPTH_MAX));
        let long_value = format!("a={}", "x".repeat(VALUE_CHARS_MAX + 1));
        let many = vec!["a[]=1"; FORM_FIELDS_MAX + 1].join("&");
        for encoded in [
            "[a]=1",
            "a[b=1",
            "a]b=1",
            "a[b]c=1",
            "a[[b]]=1",
            "a=1&a=2",
            "a=1&a[b]=2",
            "a[b]=2&a=1",
            &deep,
            &long_value,
            &many,
        ] {
            let error = parse(encoded.as_bytes()).expect_err(&encoded[..encoded.len().min(40)]);
            assert_eq!(error.status.as_u16(), 400);
        }
    }

    #[test]
    fn params_report_the_full_path_of_a_bad_value() {
        let map =
            parse(b"line_items[0][quantity]=two&line_items[1][quantity]=3").unwrap_or_default();
        let items = Params::new(&map)
            .object_list("line_items")
            .unwrap_or_default();
        let error = items[0].integer("quantity").expect_err("not an integer");
        assert_eq!(error.param.as_deref(), Some("line_items[0][quantity]"));
        assert_eq!(items[1].integer("quantity").ok().flatten(), Some(3));
        let missing = items[1].required_string("price").expect_err("absent");
        assert_eq!(
            (missing.code, missing.param.as_deref()),
            (Some("parameter_missing"), Some("line_items[1][price]"))
        );
    }

    #[test]
    fn metadata_follows_stripe_limits() {
        let too_many: String = (0..=METADATA_KEYS_MAX)
            .map(|index| format!("metadata[k{index}]=v&"))
            .collect();
        let long_key = format!("metadata[{}]=v", "k".repeat(METADATA_KEY_CHARS_MAX + 1));
        for encoded in [too_many.as_str(), long_key.as_str(), "metadata=flat"] {
            let map = parse(encoded.as_bytes()).unwrap_or_default();
            assert!(Params::new(&map).metadata().is_err(), "{encoded}");
        }
        let map = parse(b"metadata[kept]=1&metadata[unset]=").unwrap_or_default();
        let metadata = Params::new(&map).metadata().unwrap_or_default();
        assert_eq!(
            metadata.into_iter().collect::<Vec<_>>(),
            vec![("kept".to_owned(), "1".to_owned())]
        );
    }
}
