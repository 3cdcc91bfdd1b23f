//! The official `openai` and `anthropic` Python SDKs through the relay (issue 21, "Done
//! when"): only `base_url` changes and the Switchboard token is the API key; a plain and a
//! streamed call each, and a refusal the SDK must not retry. Needs Python 3 with venv: the
//! virtualenv `.ci/run` makes (`SCHEMATHESIS`), else one made under the target directory.
//! A missing Python fails the test; it is never skipped.

use std::path::PathBuf;

use switchboard::providers::ProviderKind;

use super::upstream::{Reply, Seen, Upstream};
use super::{KEY, Kind, world};

/// The SDKs, pinned as in `.ci/run`.
const SDKS: [&str; 2] = ["openai==3.60.0", "anthropic==2.16.0"];

/// A virtualenv with the SDKs: `.ci/run`'s, else one made (once) under the target dir.
async fn sdk_python() -> PathBuf {
    if let Some(bin) = std::env::var_os("SCHEMATHESIS") {
        let venv = PathBuf::from(bin)
            .parent()
            .and_then(|b| b.parent())
            .expect("SCHEMATHESIS is <venv>/bin/schemathesis")
            .to_owned();
        return venv.join("bin/python");
    }
    static MADE: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();
    MADE.get_or_init(|| async {
        crate::api::schemathesis::venv_with("python-sdks-1", &SDKS, "the SDK checks")
            .await
            .join("bin/python")
    })
    .await
    .clone()
}

const SCRIPT: &str = r#"
import os, openai, anthropic
hi = [{"role": "user", "content": "hi"}]

c = openai.OpenAI(base_url=os.environ["OPENAI_BASE"], api_key=os.environ["OPENAI_TOKEN"], max_retries=2)
r = c.chat.completions.create(model="gpt-relay", messages=hi)
assert r.choices[0].message.content == "hi there", r
assert r.usage.prompt_tokens == 3, r
chunks = c.chat.completions.create(model="gpt-relay", messages=hi, stream=True)
text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
assert text == "Hello world", text
try:
    c.chat.completions.create(model="gpt-other", messages=hi)
    raise SystemExit("another model was relayed")
except openai.ConflictError as e:
    assert "model_not_routed" in str(e), e

a = anthropic.Anthropic(base_url=os.environ["ANTHROPIC_BASE"], api_key=os.environ["ANTHROPIC_TOKEN"], max_retries=2)
m = a.messages.create(model="claude-relay", max_tokens=10, messages=hi)
assert m.content[0].text == "hi there", m
with a.messages.stream(model="claude-relay", max_tokens=10, messages=hi) as s:
    text = "".join(s.text_stream)
assert text == "Hello world", text
print("sdks ok")
"#;

fn openai_answers(seen: &Seen) -> Reply {
    let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap_or_default();
    let chunk = |content: &str| {
        format!(
            "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-relay\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{content}\"}},\"finish_reason\":null}}]}}\n\n"
        )
    };
    match (seen.target.as_str(), body["stream"] == true) {
        ("/chat/completions", true) => Reply::Flow(vec![
            chunk("Hello"),
            chunk(" world"),
            "data: [DONE]\n\n".into(),
        ]),
        ("/chat/completions", false) => Reply::Json(
            200,
            r#"{"id":"c1","object":"chat.completion","created":1,"model":"gpt-relay","choices":[{"index":0,"message":{"role":"assistant","content":"hi there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#.into(),
        ),
        _ => Reply::Json(404, r#"{"error":{"message":"no such path"}}"#.into()),
    }
}

fn anthropic_answers(seen: &Seen) -> Reply {
    let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap_or_default();
    let event = |name: &str, data: &str| format!("event: {name}\ndata: {data}\n\n");
    let delta = |text: &str| {
        event(
            "content_block_delta",
            &format!(
                r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":"{text}"}}}}"#
            ),
        )
    };
    match (seen.target.as_str(), body["stream"] == true) {
        ("/v1/messages", true) => Reply::Flow(vec![
            event("message_start", r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-relay","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}"#),
            event("content_block_start", r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
            delta("Hello"),
            delta(" world"),
            event("content_block_stop", r#"{"type":"content_block_stop","index":0}"#),
            event("message_delta", r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}"#),
            event("message_stop", r#"{"type":"message_stop"}"#),
        ]),
        ("/v1/messages", false) => Reply::Json(
            200,
            r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-relay","content":[{"type":"text","text":"hi there"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":2}}"#.into(),
        ),
        _ => Reply::Json(404, r#"{"type":"error","error":{"type":"not_found_error","message":"no"}}"#.into()),
    }
}

#[tokio::test]
async fn the_official_openai_and_anthropic_sdks_work_by_changing_base_url_only() {
    let python = sdk_python().await;
    let openai_up = Upstream::start(openai_answers).await;
    let openai = world(&[], Kind::openai(), &openai_up.url).await;
    let anthropic_up = Upstream::start(anthropic_answers).await;
    let kind = Kind {
        kind: ProviderKind::Anthropic,
        model: "claude-relay",
        deployment: None,
        key: Some(KEY),
        headers: &[],
    };
    let anthropic = world(&[], kind, &anthropic_up.url).await;
    // Each SDK against its own app (a server with its own database), with its token.
    let openai_token = openai.relay_token().await;
    let anthropic_token = anthropic.relay_token().await;
    openai_up.seen.lock().unwrap().clear();
    anthropic_up.seen.lock().unwrap().clear();

    let out = tokio::process::Command::new(&python)
        .arg("-c")
        .arg(SCRIPT)
        .env("OPENAI_BASE", openai.base("summaries"))
        .env("ANTHROPIC_BASE", anthropic.base("summaries"))
        .env("OPENAI_TOKEN", &openai_token)
        .env("ANTHROPIC_TOKEN", &anthropic_token)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {python:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("sdks ok"),
        "the SDK script failed:\n{stdout}\n{stderr}"
    );
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));

    // What the providers saw: their own key in their own header, the SDK's token nowhere;
    // the refused model was never sent (and not retried).
    let seen = openai_up.requests();
    assert_eq!(
        seen.len(),
        2,
        "plain and streamed; the 409 was neither sent nor retried"
    );
    for call in &seen {
        assert_eq!(
            call.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert!(!format!("{:?}", call.headers).contains(&openai_token));
    }
    let seen = anthropic_up.requests();
    assert_eq!(seen.len(), 2);
    for call in &seen {
        assert_eq!(call.header("x-api-key"), Some(KEY));
        assert!(call.header("anthropic-version").is_some());
        assert!(!format!("{:?}", call.headers).contains(&anthropic_token));
    }
}
