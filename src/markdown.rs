//! Markdown an org's admins write (skill instructions), rendered for the console: CommonMark
//! with tables and strikethrough through pulldown-cmark, then sanitised by ammonia with an
//! allow-list, so no script, event handler, `style`, `hx-*` attribute, image beacon or
//! `javascript:`/`data:` link survives — whatever the Markdown or raw HTML in it says.

use std::collections::HashSet;
use std::sync::LazyLock;

use pulldown_cmark::{Options, Parser, html};

/// The one sanitiser, built once.
static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    // Images would load from anywhere (and CSP would refuse them anyway): text only.
    b.rm_tags(["img"]);
    b.url_schemes(HashSet::from(["http", "https", "mailto"]));
    b.link_rel(Some("noopener noreferrer nofollow"));
    // Only these generic attributes; `hx-*`, `on*`, `style`, `class`, `id` are dropped.
    b.generic_attributes(HashSet::from(["title", "lang"]));
    b
});

/// Renders `markdown` to sanitised HTML, safe to put into a page unescaped.
pub fn render(markdown: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, Parser::new_ext(markdown, options));
    CLEANER.clean(&raw).to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markdown_renders_and_hostile_html_does_not() {
        assert_eq!(render("**bold**"), "<p><strong>bold</strong></p>\n");
        for hostile in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[x](javascript:alert(1))",
            "[x](data:text/html;base64,PHNjcmlwdD4=)",
            "<a href=\"/x\" hx-post=\"/orgs/acme/settings/ai/provider/deactivate\" hx-trigger=\"load\">x</a>",
            "<p onclick=\"alert(1)\" style=\"color:red\">x</p>",
            "<iframe src=\"https://example.test\"></iframe>",
        ] {
            let html = render(hostile).to_lowercase();
            for bad in [
                "<script",
                "onerror",
                "javascript:",
                "data:",
                "hx-",
                "onclick",
                "style=",
                "<iframe",
                "<img",
            ] {
                assert!(!html.contains(bad), "{hostile:?} rendered {html:?}");
            }
        }
        assert!(
            render("[docs](https://example.test/a)")
                .contains("rel=\"noopener noreferrer nofollow\"")
        );
    }
}
