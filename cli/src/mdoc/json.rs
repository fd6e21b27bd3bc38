//! Element values (CBOR) as JSON for the command's output: text, numbers, booleans as they are,
//! byte strings as standard base64, tagged dates as their text, maps and arrays recursively.

use base64::Engine;
use ciborium::Value;
use serde_json::{Map, Value as Json};

pub fn cbor_to_json(v: &Value) -> Json {
    match v {
        Value::Text(s) => Json::String(s.clone()),
        Value::Bool(b) => Json::Bool(*b),
        Value::Null => Json::Null,
        Value::Integer(i) => i64::try_from(*i).map_or(Json::Null, Json::from),
        Value::Float(f) => Json::from(*f),
        Value::Bytes(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Tag(_, inner) => cbor_to_json(inner),
        Value::Array(a) => Json::Array(a.iter().map(cbor_to_json).collect()),
        Value::Map(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Value::Text(s) => s.clone(),
                    other => cbor_to_json(other).to_string(),
                };
                out.insert(key, cbor_to_json(v));
            }
            Json::Object(out)
        }
        _ => Json::Null,
    }
}
