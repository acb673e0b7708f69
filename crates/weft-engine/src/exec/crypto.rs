//! `crypto`: digests, keyed digests and random values, as n8n's Crypto node makes them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use super::NodeError;
use super::expression::Resolver;
use crate::digest::{Algorithm, random_bytes, random_uuid};
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
                encode(&algorithm(&params).digest(text("value", &params.value)?.as_bytes()), encoding)
            }
            CryptoAction::Hmac => {
                let (value, secret) = (text("value", &params.value)?, text("secret", &params.secret)?);
                encode(&algorithm(&params).hmac(secret.as_bytes(), value.as_bytes()), encoding)
            }
        };
        let mut json = context.item.json.clone();
        resolver.set_path(&mut json, &params.field, Value::String(result), &at.key("field"), context.index)?;
        output.push(Item { json, binary: context.item.binary.clone() });
    }
    Ok(vec![output])
}

/// Validation makes `hash` and `hmac` name their algorithm; n8n's default stands in otherwise.
fn algorithm(params: &CryptoParams) -> Algorithm {
    match params.algorithm.unwrap_or(DigestAlgorithm::Md5) {
        DigestAlgorithm::Md5 => Algorithm::Md5,
        DigestAlgorithm::Sha1 => Algorithm::Sha1,
        DigestAlgorithm::Sha256 => Algorithm::Sha256,
        DigestAlgorithm::Sha384 => Algorithm::Sha384,
        DigestAlgorithm::Sha512 => Algorithm::Sha512,
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
    if encoding == CryptoEncoding::Uuid {
        return random_uuid();
    }
    let mut text = encode(&random_bytes(length), encoding);
    text.truncate(length);
    text
}
