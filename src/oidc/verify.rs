//! Verifying one identity token: pure, `(token, key set, issuer, audience, now) -> claims`.
//!
//! The rules, and why:
//! - RS256 only. The algorithm is ours, never the token's: a header naming `none`, `HS256` (an
//!   attacker "signing" with the issuer's public key as an HMAC secret) or anything else is refused
//!   before any key is touched. GitHub and GitLab both sign with RS256.
//! - The key is the issuer's key with the token's `kid`, an RSA key of at least 2048 bits whose
//!   own `alg` and `use`, when given, say RS256 and signing. No `kid`, or a `kid` the issuer does
//!   not publish, is refused (never "try every key").
//! - `iss` is exactly the issuer, `aud` exactly our audience (one value), `exp` in the future,
//!   `nbf` and `iat` not in the future, each with [`LEEWAY_SECS`] for clock skew.
//! - A header with `crit` (extensions we would have to understand) is refused.

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Serialize;
use serde_json::Value;

/// Clock skew allowed between this machine and the issuer when checking `exp`, `nbf` and `iat`:
/// a minute, as the providers' own examples use, and far below a token's lifetime.
pub const LEEWAY_SECS: u64 = 60;

/// RSA keys shorter than this are refused (NIST's floor; GitHub and GitLab use 2048 or more).
const MIN_RSA_BYTES: usize = 256;

/// The claims of a verified token, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims(pub BTreeMap<String, Value>);

impl Claims {
    /// A claim as text: a string as is, a number or boolean written out (GitLab sends
    /// `ref_protected` as the string `"true"`, other issuers may send `true`).
    #[must_use]
    pub fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

fn number(claims: &BTreeMap<String, Value>, name: &str) -> Result<Option<u64>, String> {
    match claims.get(name) {
        None => Ok(None),
        // Whole seconds, as GitHub and GitLab write them.
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("the token's {name} is not a time in whole seconds")),
    }
}

/// The header fields we decide on, read before any crypto.
fn header(token: &str) -> Result<(String, Option<String>), String> {
    let first = token.split('.').next().unwrap_or_default();
    let raw = URL_SAFE_NO_PAD
        .decode(first)
        .map_err(|_| "the token is not a JWT (its header is not base64url)".to_owned())?;
    let value: Value = serde_json::from_slice(&raw)
        .map_err(|_| "the token is not a JWT (its header is not JSON)".to_owned())?;
    let alg = value
        .get("alg")
        .and_then(Value::as_str)
        .ok_or("the token's header names no algorithm")?;
    if alg != "RS256" {
        return Err(format!(
            "the token is signed with {:?}, and only RS256 is accepted",
            crate::display::escape(alg)
        ));
    }
    if value.get("crit").is_some() {
        return Err("the token's header has critical extensions (crit)".to_owned());
    }
    let kid = value.get("kid").and_then(Value::as_str).map(str::to_owned);
    Ok((alg.to_owned(), kid))
}

/// The issuer's key `kid` from its key set, checked to be an RSA signing key for RS256.
fn key(jwks: &Value, kid: &str) -> Result<DecodingKey, String> {
    let shown = crate::display::escape(kid);
    let found = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("the issuer's key set has no keys")?
        .iter()
        .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
        .ok_or_else(|| format!("the issuer publishes no key {shown:?} (the token's kid)"))?;
    let field = |name: &str| found.get(name).and_then(Value::as_str);
    if field("kty") != Some("RSA") {
        return Err(format!("the issuer's key {shown:?} is not an RSA key"));
    }
    if field("alg").is_some_and(|a| a != "RS256") {
        return Err(format!("the issuer's key {shown:?} is not for RS256"));
    }
    if field("use").is_some_and(|u| u != "sig") {
        return Err(format!("the issuer's key {shown:?} is not a signing key"));
    }
    let n = field("n").unwrap_or_default();
    let e = field("e").unwrap_or_default();
    let modulus = URL_SAFE_NO_PAD
        .decode(n)
        .map_err(|_| format!("the issuer's key {shown:?} is malformed"))?;
    let significant = modulus.iter().skip_while(|b| **b == 0).count();
    if significant < MIN_RSA_BYTES {
        return Err(format!(
            "the issuer's key {shown:?} is shorter than 2048 bits"
        ));
    }
    DecodingKey::from_rsa_components(n, e)
        .map_err(|_| format!("the issuer's key {shown:?} is malformed"))
}

/// Verifies `token` against the issuer's key set (its JWKS as JSON) and returns its claims.
///
/// # Errors
/// Why the token is not a valid identity token from `issuer` for `audience` at `now` (seconds
/// since the epoch), in words for a refusal. Never contains the token.
pub fn verify(
    token: &str,
    jwks: &Value,
    issuer: &str,
    audience: &str,
    now: u64,
) -> Result<Claims, String> {
    let (_, kid) = header(token)?;
    let kid = kid.ok_or("the token's header names no key (kid)")?;
    let key = key(jwks, &kid)?;
    let mut validation = Validation::new(Algorithm::RS256);
    // Times, issuer and audience are checked below, against our `now` and exactly.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims = HashSet::new();
    validation.leeway = 0;
    let data =
        jsonwebtoken::decode::<BTreeMap<String, Value>>(token, &key, &validation).map_err(|e| {
            match e.kind() {
                ErrorKind::InvalidSignature => format!(
                    "the token's signature does not verify with the issuer's key {:?}",
                    crate::display::escape(&kid)
                ),
                ErrorKind::InvalidAlgorithm => "the token is not signed with RS256".to_owned(),
                _ => format!("the token cannot be read ({e})"),
            }
        })?;
    let claims = data.claims;
    let iss = claims.get("iss").and_then(Value::as_str);
    if iss != Some(issuer) {
        return Err(format!(
            "the token's issuer {:?} is not {issuer:?}",
            crate::display::escape(iss.unwrap_or_default())
        ));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(list)) => list.len() == 1 && list[0].as_str() == Some(audience),
        _ => false,
    };
    if !aud_ok {
        return Err(format!("the token's audience is not {audience:?}"));
    }
    let exp = number(&claims, "exp")?.ok_or("the token has no expiry (exp)")?;
    if now > exp.saturating_add(LEEWAY_SECS) {
        return Err(format!("the token expired {}s ago", now - exp));
    }
    if let Some(nbf) = number(&claims, "nbf")?
        && nbf > now.saturating_add(LEEWAY_SECS)
    {
        return Err(format!(
            "the token is not valid for another {}s (nbf)",
            nbf - now
        ));
    }
    let iat = number(&claims, "iat")?.ok_or("the token has no issue time (iat)")?;
    if iat > now.saturating_add(LEEWAY_SECS) {
        return Err(format!(
            "the token was issued {}s in the future (iat)",
            iat - now
        ));
    }
    Ok(Claims(claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    const KEY_1: &[u8] = include_bytes!("../../tests/fixtures/oidc/TEST-ONLY-key-1.pem");
    const KEY_2: &[u8] = include_bytes!("../../tests/fixtures/oidc/TEST-ONLY-key-2.pem");
    const ISS: &str = "https://issuer.example";
    const NOW: u64 = 1_900_000_000;

    fn jwk(pem: &[u8], kid: &str) -> Value {
        let key = EncodingKey::from_rsa_pem(pem).unwrap();
        let mut jwk = serde_json::to_value(
            jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap(),
        )
        .unwrap();
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        jwk
    }

    fn claims() -> Value {
        json!({"iss": ISS, "aud": "safe-wrangler", "exp": NOW + 300, "nbf": NOW - 5, "iat": NOW - 5, "repository": "acme/shop"})
    }

    fn sign(pem: &[u8], kid: &str, claims: &Value) -> String {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(kid.into());
        encode(&h, claims, &EncodingKey::from_rsa_pem(pem).unwrap()).unwrap()
    }

    fn unsigned(header: &Value, claims: &Value) -> String {
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    fn expect(name: &str, got: Result<Claims, String>, words: Option<&str>) {
        match (words, got) {
            (None, Ok(c)) => assert_eq!(c.text("repository").as_deref(), Some("acme/shop")),
            (Some(words), Err(why)) => assert!(why.contains(words), "{name}: {why}"),
            (e, g) => panic!("{name}: expected {e:?}, got {g:?}"),
        }
    }

    /// One row per claim change (`null` removes it): `None` = valid, else words of the refusal.
    #[test]
    fn claims_table() {
        let jwks = json!({"keys": [jwk(KEY_1, "k1")]});
        let rows: [(&str, Value, Option<&str>); 11] = [
            ("repository", json!("acme/shop"), None),
            ("aud", json!(["safe-wrangler"]), None),
            ("exp", json!(NOW - 61), Some("expired")),
            ("exp", json!(NOW - 59), None),
            ("exp", Value::Null, Some("no expiry")),
            ("nbf", json!(NOW + 120), Some("not valid for another")),
            ("iat", json!(NOW + 120), Some("in the future")),
            ("aud", json!("sts.amazonaws.com"), Some("audience")),
            ("aud", json!(["safe-wrangler", "x"]), Some("audience")),
            ("iss", json!("https://evil.example"), Some("issuer")),
            ("iss", Value::Null, Some("issuer")),
        ];
        for (field, value, words) in rows {
            let mut c = claims();
            if value.is_null() {
                c.as_object_mut().unwrap().remove(field);
            } else {
                c[field] = value.clone();
            }
            let got = verify(&sign(KEY_1, "k1", &c), &jwks, ISS, "safe-wrangler", NOW);
            expect(&format!("{field}={value}"), got, words);
        }
    }

    /// Tokens whose header or signature is wrong.
    #[test]
    fn header_table() {
        let jwks = json!({"keys": [jwk(KEY_1, "k1")]});
        let hs256_with_public_key = {
            let mut h = Header::new(Algorithm::HS256);
            h.kid = Some("k1".into());
            let public = serde_json::to_vec(&jwks["keys"][0]).unwrap();
            encode(&h, &claims(), &EncodingKey::from_secret(&public).unwrap()).unwrap()
        };
        let crit = json!({"alg": "RS256", "kid": "k1", "crit": ["b64"]});
        let rows: [(&str, String, Option<&str>); 8] = [
            (
                "unknown kid",
                sign(KEY_1, "k9", &claims()),
                Some("no key \"k9\""),
            ),
            (
                "other key, same kid",
                sign(KEY_2, "k1", &claims()),
                Some("does not verify"),
            ),
            (
                "alg none",
                unsigned(&json!({"alg": "none", "kid": "k1"}), &claims()),
                Some("only RS256"),
            ),
            (
                "HS256 with the public key",
                hs256_with_public_key,
                Some("only RS256"),
            ),
            (
                "no kid",
                unsigned(&json!({"alg": "RS256"}), &claims()),
                Some("names no key"),
            ),
            ("crit", unsigned(&crit, &claims()), Some("critical")),
            ("garbage", "not a token".to_owned(), Some("not a JWT")),
            ("valid", sign(KEY_1, "k1", &claims()), None),
        ];
        for (name, token, words) in rows {
            expect(
                name,
                verify(&token, &jwks, ISS, "safe-wrangler", NOW),
                words,
            );
        }
    }

    #[test]
    fn rotated_keys_and_key_checks() {
        // The issuer rotated to key 2 and still publishes key 1: both verify, by kid.
        let jwks = json!({"keys": [jwk(KEY_1, "k1"), jwk(KEY_2, "k2")]});
        assert!(
            verify(
                &sign(KEY_2, "k2", &claims()),
                &jwks,
                ISS,
                "safe-wrangler",
                NOW
            )
            .is_ok()
        );
        assert!(
            verify(
                &sign(KEY_1, "k1", &claims()),
                &jwks,
                ISS,
                "safe-wrangler",
                NOW
            )
            .is_ok()
        );
        // Key 1 withdrawn: its tokens no longer verify.
        let rotated = json!({"keys": [jwk(KEY_2, "k2")]});
        let e = verify(
            &sign(KEY_1, "k1", &claims()),
            &rotated,
            ISS,
            "safe-wrangler",
            NOW,
        );
        assert!(e.unwrap_err().contains("no key"));
        // A key marked for another algorithm or use is not used.
        for (field, value, words) in [
            ("alg", "RS512", "not for RS256"),
            ("use", "enc", "not a signing key"),
            ("kty", "EC", "not an RSA key"),
        ] {
            let mut k = jwk(KEY_1, "k1");
            k[field] = json!(value);
            let e = verify(
                &sign(KEY_1, "k1", &claims()),
                &json!({"keys": [k]}),
                ISS,
                "safe-wrangler",
                NOW,
            );
            assert!(e.unwrap_err().contains(words), "{field}");
        }
        let mut short = jwk(KEY_1, "k1");
        short["n"] = json!(URL_SAFE_NO_PAD.encode([0xffu8; 128]));
        let e = verify(
            &sign(KEY_1, "k1", &claims()),
            &json!({"keys": [short]}),
            ISS,
            "safe-wrangler",
            NOW,
        );
        assert!(e.unwrap_err().contains("shorter than 2048"));
    }
}
