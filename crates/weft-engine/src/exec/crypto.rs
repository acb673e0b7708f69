//! `crypto`: digests, keyed digests and random values, as n8n's Crypto node makes them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::digest::{InvalidLength, KeyInit};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::Value;
use sha2::Digest;

use super::expression::Resolver;
use super::{NodeError, path};
use crate::item::Item;
use crate::params::{CRYPTO_MAX_LENGTH, CryptoAction, CryptoEncoding, CryptoParams, DigestAlgorithm, ParamValue};
use crate::pointer::Pointer;

/// Each item gets the result in `field`, its other fields and attachments kept. Digests are of
/// the value's UTF-8 bytes.
pub(super) fn crypto(
    params: CryptoParams,
    inputs: Vec<Vec<Item>>,
    resolver: &Resolver<'_>,
) -> Result<Vec<Vec<Item>>, NodeError> {
    let at = Pointer::root().key("params");
    let encoding = params.encoding.unwrap_or(match params.action {
        CryptoAction::Generate => CryptoEncoding::Uuid,
        CryptoAction::Hash | CryptoAction::Hmac => CryptoEncoding::Hex,
    });
    let length = params.length.clone().unwrap_or(ParamValue::Literal(32));
    let mut output = Vec::with_capacity(inputs.first().map_or(0, Vec::len));
    for context in resolver.each(&inputs, 0) {
        let text = |key: &str, param: &Option<String>| {
            resolver.text(param.as_deref().unwrap_or_default(), &at.key(key), &context)
        };
        let result = match params.action {
            CryptoAction::Generate => {
                let length = resolver.typed(&length, &at.key("length"), &context)?;
                if !(1..=CRYPTO_MAX_LENGTH).contains(&length) {
                    return Err(resolver.param_error(
                        &at.key("length"),
                        format!("gave {length} on item {}, not from 1 to {CRYPTO_MAX_LENGTH}", context.index),
                    ));
                }
                generate(encoding, length as usize)
            }
            CryptoAction::Hash => {
                encode(&digest(algorithm(&params), text("value", &params.value)?.as_bytes()), encoding)
            }
            CryptoAction::Hmac => {
                let (value, secret) = (text("value", &params.value)?, text("secret", &params.secret)?);
                let digest = keyed_digest(algorithm(&params), secret.as_bytes(), value.as_bytes())
                    .map_err(|error| resolver.param_error(&at.key("secret"), error.to_string()))?;
                encode(&digest, encoding)
            }
        };
        let mut json = context.item.json.clone();
        path::set(&mut json, &params.field, Value::String(result)).map_err(|blocked| {
            resolver.param_error(
                &at.key("field"),
                format!(
                    "cannot set `{}` on item {}: `{}` is {}, not an object",
                    params.field, context.index, blocked.path, blocked.found
                ),
            )
        })?;
        output.push(Item { json, binary: context.item.binary.clone() });
    }
    Ok(vec![output])
}

/// Validation makes `hash` and `hmac` name their algorithm; n8n's default stands in otherwise.
fn algorithm(params: &CryptoParams) -> DigestAlgorithm {
    params.algorithm.unwrap_or(DigestAlgorithm::Md5)
}

fn digest(algorithm: DigestAlgorithm, data: &[u8]) -> Vec<u8> {
    match algorithm {
        DigestAlgorithm::Md5 => md5::Md5::digest(data).to_vec(),
        DigestAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
        DigestAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
        DigestAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
        DigestAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
    }
}

/// HMAC takes a key of any length, so the error is only the library's signature.
fn keyed_digest(algorithm: DigestAlgorithm, key: &[u8], data: &[u8]) -> Result<Vec<u8>, InvalidLength> {
    fn mac<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Result<Vec<u8>, InvalidLength> {
        let mut mac = <M as KeyInit>::new_from_slice(key)?;
        mac.update(data);
        Ok(mac.finalize().into_bytes().to_vec())
    }
    match algorithm {
        DigestAlgorithm::Md5 => mac::<Hmac<md5::Md5>>(key, data),
        DigestAlgorithm::Sha1 => mac::<Hmac<sha1::Sha1>>(key, data),
        DigestAlgorithm::Sha256 => mac::<Hmac<sha2::Sha256>>(key, data),
        DigestAlgorithm::Sha384 => mac::<Hmac<sha2::Sha384>>(key, data),
        DigestAlgorithm::Sha512 => mac::<Hmac<sha2::Sha512>>(key, data),
    }
}

fn encode(bytes: &[u8], encoding: CryptoEncoding) -> String {
    match encoding {
        CryptoEncoding::Base64 => BASE64.encode(bytes),
        CryptoEncoding::Hex | CryptoEncoding::Uuid => hex::encode(bytes),
    }
}

/// A UUID v4, or `length` characters of the encoding of random bytes (n8n takes as many bytes as
/// characters and cuts the text).
fn generate(encoding: CryptoEncoding, length: usize) -> String {
    let mut rng = rand::thread_rng();
    if encoding == CryptoEncoding::Uuid {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex = hex::encode(bytes);
        return format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]);
    }
    let mut bytes = vec![0u8; length];
    rng.fill_bytes(&mut bytes);
    let mut text = encode(&bytes, encoding);
    text.truncate(length);
    text
}
