//! A stand-in for `megabox-agent` in the end-to-end run, speaking the wire format of
//! `megabox-protocol` (protocol/src/lib.rs) with Node's own Ed25519: it pairs with a code
//! (`POST /api/v1/devices {code, public_key}`, the key's 32 bytes as URL-safe base64 without
//! padding) and reports viewable impressions in batches signed over the protocol's canonical bytes.
import { generateKeyPairSync, randomBytes, randomUUID, sign } from "node:crypto";

/** `CANONICAL_DOMAIN_TAG` and `CANONICAL_VERSION` of protocol/src/lib.rs. */
const CANONICAL_DOMAIN_TAG = Buffer.from("megabox-impression-batch", "ascii");
const CANONICAL_VERSION = 1;
/** `TIME_BUCKET_SECONDS`: impressions are reported by the hour they happened in, nothing finer. */
const TIME_BUCKET_SECONDS = 3600;
const NONCE_BYTES = 16;

function uuidBytes(uuid) {
  return Buffer.from(uuid.replaceAll("-", ""), "hex");
}

function u16(value) {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16BE(value);
  return buffer;
}

function u32(value) {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}

function u64(value) {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64BE(BigInt(value));
  return buffer;
}

function lengthPrefixed(bytes) {
  return Buffer.concat([u32(bytes.length), bytes]);
}

/** `canonical_bytes` of protocol/src/lib.rs: the exact bytes a batch signature covers. */
export function canonicalBytes(deviceId, sequence, events) {
  const parts = [lengthPrefixed(CANONICAL_DOMAIN_TAG), Buffer.from([CANONICAL_VERSION]), uuidBytes(deviceId), u64(sequence), u32(events.length)];
  for (const event of events) {
    const [width, height] = event.size.split("x").map(Number);
    parts.push(uuidBytes(event.event_id), lengthPrefixed(Buffer.from(event.creative_id, "ascii")), u16(width), u16(height), u64(event.time_bucket), Buffer.from(event.nonce, "base64url"));
  }
  return Buffer.concat(parts);
}

export class TestAgent {
  constructor(baseUrl) {
    this.baseUrl = baseUrl;
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    this.privateKey = privateKey;
    // A JWK's `x` is the raw 32-byte public key as URL-safe base64 without padding: the protocol's encoding.
    this.publicKey = publicKey.export({ format: "jwk" }).x;
    this.deviceId = null;
    this.sequence = 0;
  }

  /** Registers this install's key with a pairing code; answers the HTTP status and JSON body. */
  async pair(code) {
    const response = await fetch(`${this.baseUrl}/api/v1/devices`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code, public_key: this.publicKey }),
    });
    const body = await response.json();
    if (response.status === 201) this.deviceId = body.device_id;
    return { status: response.status, body };
  }

  /** Signs and sends one batch of `count` impressions of a creative seen this hour; answers the HTTP status and the receipt or error. */
  async reportImpressions(creativeId, size, count) {
    if (this.deviceId === null) throw new Error("the agent is not paired");
    const time_bucket = Math.floor(Date.now() / 1000 / TIME_BUCKET_SECONDS);
    const events = Array.from({ length: count }, () => ({
      event_id: randomUUID(),
      creative_id: creativeId,
      size,
      time_bucket,
      nonce: randomBytes(NONCE_BYTES).toString("base64url"),
    }));
    this.sequence += 1;
    const signature = sign(null, canonicalBytes(this.deviceId, this.sequence, events), this.privateKey).toString("base64url");
    const response = await fetch(`${this.baseUrl}/api/v1/impressions`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ device_id: this.deviceId, sequence: this.sequence, events, signature }),
    });
    return { status: response.status, body: await response.json() };
  }
}
