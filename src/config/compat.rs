//! `SWITCHBOARD_COMPAT_APIS`: whether the seed documents' own APIs are served (DESIGN.md
//! "Seed-compatible surfaces"; `src/api/compat`). Off by default.

use super::ConfigError;

/// The variable's name.
pub const VAR: &str = "SWITCHBOARD_COMPAT_APIS";

/// `on` or `off` (unset or blank: `off`), any case; anything else is a configuration error.
pub fn parse(value: Option<&str>) -> Result<bool, ConfigError> {
    match value.map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if v.is_empty() || v == "off" => Ok(false),
        Some(v) if v == "on" => Ok(true),
        Some(_) => Err(ConfigError::new(
            VAR,
            "expected on or off (the seed-compatible APIs are off by default)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_and_off_only() {
        assert!(!parse(None).unwrap());
        assert!(!parse(Some("off")).unwrap());
        assert!(parse(Some(" On ")).unwrap());
        for bad in ["yes", "1", "true", "onn"] {
            let e = parse(Some(bad)).unwrap_err();
            assert!(e.to_string().starts_with(VAR), "{e}");
            assert!(!e.to_string().contains(bad), "the value is not echoed: {e}");
        }
    }
}
