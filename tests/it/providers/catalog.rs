//! The catalog as the API and forms will read it.

use switchboard::providers::catalog::{BaseUrlSpec, Protocol};
use switchboard::providers::check::FailureCode;
use switchboard::providers::{ProviderKind, Tools, catalog};

#[test]
fn catalog_lists_the_ten_kinds_of_the_design() {
    let slugs: Vec<&str> = catalog().iter().map(|e| e.slug).collect();
    assert_eq!(
        slugs,
        [
            "openai",
            "anthropic",
            "google",
            "azure",
            "xai",
            "groq",
            "ollama",
            "bedrock",
            "gateway",
            "custom"
        ]
    );
    let prefix = |k: ProviderKind| k.entry().key.prefix;
    assert_eq!(prefix(ProviderKind::Openai), Some("sk-"));
    assert_eq!(prefix(ProviderKind::Anthropic), Some("sk-ant-"));
    assert_eq!(prefix(ProviderKind::Xai), Some("xai-"));
    assert_eq!(prefix(ProviderKind::Groq), Some("gsk_"));
    for optional in [ProviderKind::Ollama, ProviderKind::Custom] {
        assert!(!optional.entry().key.required);
        assert_eq!(optional.entry().tools, Tools::AdminSays);
        assert!(
            optional
                .entry()
                .extra_fields
                .iter()
                .any(|f| f.name == "supports_tools")
        );
    }
    assert_eq!(ProviderKind::Gateway.entry().tools, Tools::AdminSays);
    assert_eq!(ProviderKind::Azure.entry().base_url, BaseUrlSpec::Required);
    assert_eq!(
        ProviderKind::Groq.entry().protocol,
        Protocol::OpenaiCompatible
    );
    assert!(catalog().iter().all(|e| !e.example_models.is_empty()));
    assert!("openia".parse::<ProviderKind>().is_err());
}

#[test]
fn catalog_serialises_to_camel_case_json() {
    let json = serde_json::to_value(catalog()).expect("serialise");
    let azure = &json[3];
    assert_eq!(azure["slug"], "azure");
    assert_eq!(azure["baseUrl"], serde_json::json!({"mode": "required"}));
    assert_eq!(azure["extraFields"][0]["name"], "deployment");
    assert_eq!(
        azure["extraFields"][1]["name"], "apiVersion",
        "the API's config key"
    );
    assert_eq!(azure["extraFields"][1]["fieldType"], "text");
    assert_eq!(
        json[0]["baseUrl"],
        serde_json::json!({"mode": "default", "url": "https://api.openai.com/v1"})
    );
    assert_eq!(
        json[0]["key"],
        serde_json::json!({"required": true, "prefix": "sk-"})
    );
    assert_eq!(json[6]["tools"], "adminSays");
    assert_eq!(
        json[7]["baseUrl"]["template"],
        "https://bedrock.{region}.amazonaws.com"
    );
    assert!(json[0]["exampleModels"].is_array());
}

#[test]
fn failure_codes_are_the_ten_of_the_design() {
    let codes: Vec<String> = FailureCode::ALL
        .iter()
        .map(|c| {
            serde_json::to_value(c)
                .expect("serialise")
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        codes,
        [
            "auth_rejected",
            "model_not_found",
            "rate_limited",
            "quota_exhausted",
            "bad_api_version",
            "unreachable",
            "timeout",
            "tls",
            "blocked_address",
            "bad_response"
        ]
    );
    assert!(FailureCode::ALL.iter().all(|c| c.to_string() == c.as_str()));
}
