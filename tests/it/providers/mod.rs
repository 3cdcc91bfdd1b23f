//! Provider catalog, live checks and egress guard (issue 3).

mod anthropic;
mod azure;
mod bedrock;
mod catalog;
mod cli;
mod egress;
mod gemini;
mod helpers;
mod ollama;
mod openai_compat;
mod secrets;
