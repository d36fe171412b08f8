//! The agent's only conversations with the megabox server: pairing, fetching creatives, sending
//! signed impression batches. Every body is a `megabox-protocol` type; nothing else is sent.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use megabox_protocol::{
    BatchResponse, CreativeList, DeviceRegistered, DeviceRegistration, ImpressionBatch, SlotSize,
};

/// Per-request timeout towards the server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("the server URL must start with http:// or https://")]
    InvalidUrl,
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("the server answered {status}: {body}")]
    Status { status: u16, body: String },
}

/// HTTP client bound to one server.
#[derive(Clone)]
pub struct ServerClient {
    http: reqwest::Client,
    base_url: String,
}

impl ServerClient {
    /// A client for `base_url`, honouring `MEGABOX_AGENT_RESOLVE` overrides.
    pub fn new(
        base_url: &str,
        resolve_overrides: &HashMap<String, SocketAddr>,
    ) -> Result<Self, ServerError> {
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ServerError::InvalidUrl);
        }
        let builder = resolve_overrides.iter().fold(
            reqwest::Client::builder().timeout(REQUEST_TIMEOUT),
            |builder, (host, address)| builder.resolve(host, *address),
        );
        Ok(Self {
            http: builder.build()?,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    async fn decode<T: for<'de> serde::Deserialize<'de>>(
        response: reqwest::Response,
    ) -> Result<T, ServerError> {
        const ERROR_BODY_CHARACTERS_MAX: usize = 500;
        let status = response.status();
        if !status.is_success() {
            let body: String = response
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(ERROR_BODY_CHARACTERS_MAX)
                .collect();
            return Err(ServerError::Status {
                status: status.as_u16(),
                body,
            });
        }
        Ok(response.json().await?)
    }

    /// `POST /api/v1/devices`.
    pub async fn register(
        &self,
        registration: &DeviceRegistration,
    ) -> Result<DeviceRegistered, ServerError> {
        let response = self
            .http
            .post(format!("{}/api/v1/devices", self.base_url))
            .json(registration)
            .send()
            .await?;
        Self::decode(response).await
    }

    /// `GET /api/v1/ads/creatives?size=WxH`.
    pub async fn creatives(&self, size: SlotSize) -> Result<CreativeList, ServerError> {
        let response = self
            .http
            .get(format!(
                "{}/api/v1/ads/creatives?size={size}",
                self.base_url
            ))
            .send()
            .await?;
        Self::decode(response).await
    }

    /// `POST /api/v1/impressions`.
    pub async fn send_batch(&self, batch: &ImpressionBatch) -> Result<BatchResponse, ServerError> {
        let response = self
            .http
            .post(format!("{}/api/v1/impressions", self.base_url))
            .json(batch)
            .send()
            .await?;
        Self::decode(response).await
    }
}
