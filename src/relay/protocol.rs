//! Per protocol: which paths are relayed (everything else is 404), where they go on the
//! provider's base URL, which request headers pass, and where the provider's credential
//! goes (DESIGN.md "Platform services": the relay bullet).

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret as _, SecretString};
use url::Url;

use crate::ops::providers::release::ServingProvider;
use crate::providers::catalog::Protocol;

/// What to send upstream for one relayed call.
#[derive(Debug)]
pub struct Plan {
    pub url: Url,
    /// Whether the body names the model (`"model"`), which must then be the routed one.
    pub model_in_body: bool,
}

/// Why a call can't be planned.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not one of the protocol's relayed paths (or not with this method): 404.
    NotRelayed,
    /// The path names another model (Gemini) or deployment (Azure) than the route: 409.
    ModelNotRouted(String),
    /// The provider has no usable base URL: 409.
    NoBaseUrl,
}

/// Query parameters that pass (never a credential such as `key`).
const QUERY_ALLOWED: [&str; 9] = [
    "alt",
    "api-version",
    "beta",
    "limit",
    "after",
    "after_id",
    "before_id",
    "pageSize",
    "pageToken",
];

/// Maps `method tail?query` onto the provider's base URL, or refuses it.
pub fn plan(
    protocol: Protocol,
    provider: &ServingProvider,
    method: &Method,
    tail: &str,
    query: &str,
) -> Result<Plan, Refused> {
    let post = *method == Method::POST;
    let get = *method == Method::GET;
    let (path, model_in_body) = match protocol {
        Protocol::OpenaiCompatible => match tail {
            "chat/completions" | "completions" | "embeddings" | "responses" if post => {
                (tail.to_owned(), true)
            }
            "models" if get => (tail.to_owned(), false),
            _ => return Err(Refused::NotRelayed),
        },
        Protocol::Anthropic => match tail {
            "v1/messages" | "v1/messages/count_tokens" if post => (tail.to_owned(), true),
            "v1/models" if get => (tail.to_owned(), false),
            _ => return Err(Refused::NotRelayed),
        },
        Protocol::Ollama => match tail {
            "api/chat" | "api/generate" if post => (tail.to_owned(), true),
            "api/tags" if get => (tail.to_owned(), false),
            _ => return Err(Refused::NotRelayed),
        },
        Protocol::Gemini => {
            if tail == "v1beta/models" && get {
                (tail.to_owned(), false)
            } else {
                let call = tail
                    .strip_prefix("v1beta/models/")
                    .ok_or(Refused::NotRelayed)?;
                let (model, verb) = call.rsplit_once(':').ok_or(Refused::NotRelayed)?;
                if !post
                    || !matches!(
                        verb,
                        "generateContent" | "streamGenerateContent" | "countTokens"
                    )
                    || model.is_empty()
                    || model.contains('/')
                {
                    return Err(Refused::NotRelayed);
                }
                if model != provider.model {
                    return Err(Refused::ModelNotRouted(model.to_owned()));
                }
                (tail.to_owned(), false)
            }
        }
        Protocol::Azure => {
            let rest = tail
                .strip_prefix("openai/deployments/")
                .ok_or(Refused::NotRelayed)?;
            let (deployment, op) = rest.split_once('/').ok_or(Refused::NotRelayed)?;
            if !post
                || !matches!(op, "chat/completions" | "completions" | "embeddings")
                || deployment.is_empty()
            {
                return Err(Refused::NotRelayed);
            }
            let routed = provider
                .config
                .get("deployment")
                .and_then(serde_json::Value::as_str)
                .unwrap_or(&provider.model);
            if deployment != routed {
                return Err(Refused::ModelNotRouted(deployment.to_owned()));
            }
            (tail.to_owned(), false)
        }
        Protocol::Bedrock => {
            // The runtime API with a Bedrock API key (a bearer token, as the checks use it):
            // `model/{modelId}/converse|converse-stream|invoke|invoke-with-response-stream`.
            // The model id may be an inference profile's ARN, which holds a `/`.
            let call = tail.strip_prefix("model/").ok_or(Refused::NotRelayed)?;
            let (model, op) = call.rsplit_once('/').ok_or(Refused::NotRelayed)?;
            if !post
                || !matches!(
                    op,
                    "converse" | "converse-stream" | "invoke" | "invoke-with-response-stream"
                )
                || model.is_empty()
            {
                return Err(Refused::NotRelayed);
            }
            if model != provider.model {
                return Err(Refused::ModelNotRouted(model.to_owned()));
            }
            let url = bedrock_runtime_url(provider, model, op)?;
            return Ok(Plan {
                url,
                model_in_body: false,
            });
        }
    };
    let base = provider.base_url.as_deref().ok_or(Refused::NoBaseUrl)?;
    let mut url = Url::parse(&format!("{}/{path}", base.trim_end_matches('/')))
        .map_err(|_| Refused::NoBaseUrl)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refused::NoBaseUrl);
    }
    // Only known, credential-free parameters pass; Azure always gets its api-version.
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| QUERY_ALLOWED.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if protocol == Protocol::Azure && !pairs.iter().any(|(k, _)| k == "api-version") {
        let configured = provider
            .config
            .get("api_version")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("2024-10-21");
        pairs.push(("api-version".to_owned(), configured.to_owned()));
    }
    if !pairs.is_empty() {
        url.query_pairs_mut().extend_pairs(pairs);
    }
    Ok(Plan { url, model_in_body })
}

/// Where a Bedrock runtime call goes: the provider's base URL names the control plane
/// (`https://bedrock.{region}.amazonaws.com`, where the checks list models); the runtime is
/// its `bedrock-runtime.` sibling. Any other host (a VPC endpoint, a proxy) is used as it is.
/// The model id is one path segment, percent-encoded (an ARN's `/` too).
fn bedrock_runtime_url(provider: &ServingProvider, model: &str, op: &str) -> Result<Url, Refused> {
    let base = provider.base_url.as_deref().ok_or(Refused::NoBaseUrl)?;
    let mut url = Url::parse(base.trim_end_matches('/')).map_err(|_| Refused::NoBaseUrl)?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Refused::NoBaseUrl);
    }
    if let Some(region_host) = url
        .host_str()
        .and_then(|h| h.strip_prefix("bedrock."))
        .map(|rest| format!("bedrock-runtime.{rest}"))
    {
        url.set_host(Some(&region_host))
            .map_err(|_| Refused::NoBaseUrl)?;
    }
    url.set_query(None);
    url.path_segments_mut()
        .map_err(|_| Refused::NoBaseUrl)?
        .pop_if_empty()
        .extend(["model", model, op]);
    Ok(url)
}

/// The request headers that pass for `protocol` (content type, accept, the protocol's
/// version and beta headers); everything else — caller credentials, cookies,
/// `X-Forwarded-*`, organisation/project headers, hop-by-hop headers — never does.
fn passes(protocol: Protocol, name: &str) -> bool {
    match name {
        "content-type" | "accept" => true,
        "openai-beta" => matches!(protocol, Protocol::OpenaiCompatible | Protocol::Azure),
        "anthropic-version" | "anthropic-beta" => protocol == Protocol::Anthropic,
        _ => false,
    }
}

/// The upstream request's headers: the allowed ones of `incoming`, the provider's
/// credential in its own header, and `extra` (a gateway's extra headers, already opened)
/// last. Every credential value is marked sensitive.
pub fn headers(
    protocol: Protocol,
    incoming: &actix_web::http::header::HeaderMap,
    key: Option<&SecretString>,
    extra: &[(HeaderName, SecretString)],
) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in incoming {
        if passes(protocol, name.as_str())
            && let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_str().as_bytes()),
                HeaderValue::from_bytes(value.as_bytes()),
            )
        {
            out.append(n, v);
        }
    }
    if protocol == Protocol::Anthropic && !out.contains_key("anthropic-version") {
        out.insert(
            "anthropic-version",
            HeaderValue::from_static(crate::providers::check::ANTHROPIC_VERSION),
        );
    }
    if let Some(key) = key {
        let key = key.expose_secret();
        let (name, value) = match protocol {
            Protocol::Anthropic => (HeaderName::from_static("x-api-key"), key.to_owned()),
            Protocol::Azure => (HeaderName::from_static("api-key"), key.to_owned()),
            Protocol::Gemini => (HeaderName::from_static("x-goog-api-key"), key.to_owned()),
            Protocol::OpenaiCompatible | Protocol::Ollama | Protocol::Bedrock => {
                (AUTHORIZATION, format!("Bearer {key}"))
            }
        };
        if let Ok(mut value) = HeaderValue::from_str(&value) {
            value.set_sensitive(true);
            out.insert(name, value);
        }
    }
    for (name, value) in extra {
        if let Ok(mut value) = HeaderValue::from_str(value.expose_secret()) {
            value.set_sensitive(true);
            out.insert(name.clone(), value);
        }
    }
    out
}

/// Response headers that never pass back: hop-by-hop ones, the framing the relay redoes,
/// and cookies.
pub fn response_header_passes(name: &str) -> bool {
    !matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "content-length"
            | "set-cookie"
            | "alt-svc"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::catalog::ProviderKind;

    fn provider(kind: ProviderKind, base: &str, model: &str) -> ServingProvider {
        ServingProvider {
            id: "aip_1".into(),
            name: "p".into(),
            kind,
            base_url: Some(base.into()),
            model: model.into(),
            config: serde_json::json!({"deployment": "dep1", "api_version": "2024-06-01"}),
        }
    }

    #[test]
    fn paths_map_onto_the_base_url_and_others_are_refused() {
        let openai = provider(ProviderKind::Openai, "https://api.openai.com/v1/", "gpt-4o");
        let plan = plan(
            Protocol::OpenaiCompatible,
            &openai,
            &Method::POST,
            "chat/completions",
            "key=x&limit=2",
        )
        .unwrap();
        assert_eq!(
            plan.url.as_str(),
            "https://api.openai.com/v1/chat/completions?limit=2"
        );
        assert!(plan.model_in_body);
        for (method, tail) in [
            (Method::GET, "chat/completions"),
            (Method::POST, "files"),
            (Method::POST, "../chat/completions"),
            (Method::DELETE, "models"),
            (Method::POST, "chat/completions/"),
        ] {
            assert_eq!(
                super::plan(Protocol::OpenaiCompatible, &openai, &method, tail, "").unwrap_err(),
                Refused::NotRelayed,
                "{method} {tail}"
            );
        }
        let gemini = provider(ProviderKind::Google, "https://g.example", "gemini-2.5-pro");
        let ok = super::plan(
            Protocol::Gemini,
            &gemini,
            &Method::POST,
            "v1beta/models/gemini-2.5-pro:streamGenerateContent",
            "alt=sse&key=leak",
        )
        .unwrap();
        assert_eq!(
            ok.url.as_str(),
            "https://g.example/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            super::plan(
                Protocol::Gemini,
                &gemini,
                &Method::POST,
                "v1beta/models/other:generateContent",
                ""
            )
            .unwrap_err(),
            Refused::ModelNotRouted("other".into())
        );
        let azure = provider(ProviderKind::Azure, "https://r.openai.azure.com", "gpt-4o");
        let ok = super::plan(
            Protocol::Azure,
            &azure,
            &Method::POST,
            "openai/deployments/dep1/chat/completions",
            "",
        )
        .unwrap();
        assert_eq!(
            ok.url.as_str(),
            "https://r.openai.azure.com/openai/deployments/dep1/chat/completions?api-version=2024-06-01"
        );
        assert!(matches!(
            super::plan(
                Protocol::Azure,
                &azure,
                &Method::POST,
                "openai/deployments/dep2/chat/completions",
                ""
            ),
            Err(Refused::ModelNotRouted(_))
        ));
        let model = "anthropic.claude-3-haiku-20240307-v1:0";
        let bedrock = provider(
            ProviderKind::Bedrock,
            "https://bedrock.us-east-1.amazonaws.com",
            model,
        );
        let bedrock_plan = |method: &Method, tail: &str| {
            super::plan(Protocol::Bedrock, &bedrock, method, tail, "key=x")
        };
        for op in [
            "converse",
            "converse-stream",
            "invoke",
            "invoke-with-response-stream",
        ] {
            let ok = bedrock_plan(&Method::POST, &format!("model/{model}/{op}")).unwrap();
            assert_eq!(
                ok.url.as_str(),
                format!(
                    "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1:0/{op}"
                ),
                "the runtime host, the model one segment, no query"
            );
            assert!(!ok.model_in_body);
        }
        assert_eq!(
            bedrock_plan(&Method::POST, "model/amazon.titan-text-express-v1/converse").unwrap_err(),
            Refused::ModelNotRouted("amazon.titan-text-express-v1".to_owned())
        );
        for (method, tail) in [
            (Method::GET, format!("model/{model}/converse")),
            (Method::POST, format!("model/{model}/delete")),
            (Method::POST, "foundation-models".to_owned()),
            (Method::POST, "model//converse".to_owned()),
        ] {
            assert_eq!(
                bedrock_plan(&method, &tail).unwrap_err(),
                Refused::NotRelayed,
                "{method} {tail}"
            );
        }
        // An inference profile's ARN is one segment; another host is kept as it is.
        let arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0";
        let proxied = provider(ProviderKind::Bedrock, "http://127.0.0.1:9/prefix/", arn);
        let ok = super::plan(
            Protocol::Bedrock,
            &proxied,
            &Method::POST,
            &format!("model/{arn}/converse"),
            "",
        )
        .unwrap();
        assert_eq!(
            ok.url.as_str(),
            "http://127.0.0.1:9/prefix/model/arn:aws:bedrock:us-east-1:123456789012:inference-profile%2Fus.anthropic.claude-3-haiku-20240307-v1:0/converse"
        );
    }

    #[test]
    fn only_allowed_headers_pass_and_the_credential_goes_in_the_providers_header() {
        use actix_web::http::header::{HeaderMap as In, HeaderName as N, HeaderValue as V};
        let mut incoming = In::new();
        for (n, v) in [
            ("authorization", "Bearer swb_caller"),
            ("x-api-key", "swb_caller"),
            ("cookie", "s=1"),
            ("x-forwarded-for", "1.2.3.4"),
            ("openai-organization", "org-x"),
            ("openai-project", "p"),
            ("connection", "keep-alive"),
            ("content-type", "application/json"),
            ("anthropic-version", "2023-06-01"),
            ("anthropic-beta", "tools"),
        ] {
            incoming.append(N::from_static(n), V::from_static(v));
        }
        let key = SecretString::from("sk-canary".to_owned());
        let out = headers(Protocol::Anthropic, &incoming, Some(&key), &[]);
        let names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        assert_eq!(names.len(), 4, "{names:?}");
        assert_eq!(out["x-api-key"], "sk-canary");
        assert!(out["x-api-key"].is_sensitive());
        assert_eq!(out["anthropic-beta"], "tools");
        assert!(!out.contains_key("authorization"));
        let out = headers(Protocol::OpenaiCompatible, &incoming, Some(&key), &[]);
        assert_eq!(out["authorization"], "Bearer sk-canary");
        assert!(!out.contains_key("x-api-key") && !out.contains_key("openai-organization"));
        let out = headers(Protocol::Ollama, &incoming, None, &[]);
        assert_eq!(out.len(), 1);
    }
}
