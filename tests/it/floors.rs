//! The house's floors (DESIGN.md "Floors, one way"), checked from the source: every path a
//! file under `src/` names through `crate::`, `super::` or `self::` is resolved to the file
//! that defines it (following `pub use` re-exports), and then
//! - no file imports from a higher floor than its own, and
//! - no files import each other in a circle.
//!
//! It reads the code as text (comments, strings and `#[cfg(test)]` modules left out), which
//! is enough for this code base: docs/DECISIONS.md "Floors" says how it reads them.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::{Path, PathBuf},
};

/// The floors, lowest first: a module may import from its own floor and those below.
const FLOORS: &[&[&str]] = &[
    &[
        "config",
        "clock",
        "crypto",
        "db",
        "providers",
        "telemetry",
        "metrics",
        "markdown",
    ],
    &["models", "routing", "prompts"],
    &["state"],
    &["ops"],
    &["auth", "jobs", "error"],
    &["api"],
    &["web", "mcp", "relay"],
    &["startup"],
    &["cli", "main", "lib"],
];

fn floor_of(module: &[String]) -> usize {
    let top = module.first().map(String::as_str).unwrap_or("lib");
    FLOORS
        .iter()
        .position(|f| f.contains(&top))
        .unwrap_or_else(|| {
            panic!("module `{top}` is on no floor: add it to DESIGN's floors and to FLOORS here")
        })
}

/// One source file: its module path and its code without comments, strings and tests.
struct File {
    rel: String,
    module: Vec<String>,
    is_mod_root: bool,
    code: String,
}

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn load(src: &Path) -> Vec<File> {
    let mut paths = Vec::new();
    source_files(src, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let rel = path
                .strip_prefix(src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let stem = rel.trim_end_matches(".rs");
            let mut module: Vec<String> = stem.split('/').map(str::to_owned).collect();
            let is_mod_root = matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            );
            if matches!(module.last().map(String::as_str), Some("mod")) || rel == "lib.rs" {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            File {
                rel,
                module,
                is_mod_root,
                code: strip(&text),
            }
        })
        .collect()
}

/// The code without comments, with every string and char literal emptied and without its
/// `#[cfg(test)] mod …` (test modules import through `super::` relative to themselves).
fn strip(text: &str) -> String {
    without_test_modules(&strip_literals(text))
}

fn without_test_modules(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let trimmed = after.trim_start();
        if !trimmed.starts_with("mod ") {
            rest = after;
            continue;
        }
        let (semi, brace) = (trimmed.find(';'), trimmed.find('{'));
        let end = match (semi, brace) {
            (Some(s), b) if b.is_none_or(|b| s < b) => s + 1,
            (_, Some(b)) => {
                let mut depth = 0;
                let mut end = trimmed.len();
                for (k, ch) in trimmed[b..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = b + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            _ => trimmed.len(),
        };
        rest = &trimmed[end..];
    }
    out.push_str(rest);
    out
}

fn strip_literals(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !prev_ident(&b, i) {
            // A raw string: r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            'raw: while j < b.len() {
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break 'raw;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if next == Some('\\') {
                let mut j = i + 2;
                while j < b.len() && b[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if b.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_ident(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

/// Every path the code names that starts with `crate::`, `super::`, `self::` or the name
/// of a child module, expanded through `{…}` groups, as segments from the crate root. Each
/// comes with whether it was a `pub use` (a re-export).
fn named_paths(file: &File, modules: &BTreeSet<Vec<String>>) -> Vec<(Vec<String>, bool)> {
    let code: Vec<char> = file.code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let rest: String = code[i..code.len().min(i + 8)].iter().collect();
        let fresh = !prev_ident(&code, i) && (i == 0 || code[i - 1] != ':');
        let child = fresh && file.is_mod_root && {
            let word: String = code[i..]
                .iter()
                .take_while(|c| c.is_alphanumeric() || **c == '_')
                .collect();
            let mut m = file.module.clone();
            m.push(word.clone());
            !word.is_empty()
                && code.get(i + word.len()) == Some(&':')
                && code.get(i + word.len() + 1) == Some(&':')
                && modules.contains(&m)
        };
        let starts_path = fresh
            && (child
                || rest.starts_with("crate::")
                || rest.starts_with("super::")
                || rest.starts_with("self::"));
        if !starts_path {
            i += 1;
            continue;
        }
        let reexport = preceded_by_pub_use(&code, i);
        let (trees, end) = parse_tree(&code, i);
        for mut segs in trees {
            if child {
                segs.insert(0, "self".to_owned());
            }
            if let Some(resolved) = resolve_root(file, &segs) {
                out.push((resolved, reexport));
            }
        }
        i = end.max(i + 1);
    }
    out
}

fn preceded_by_pub_use(code: &[char], i: usize) -> bool {
    let start = code[..i]
        .iter()
        .rposition(|&c| c == ';' || c == '}' || c == '{')
        .map_or(0, |p| p + 1);
    let before: String = code[start..i].iter().collect();
    let words: Vec<&str> = before.split_whitespace().collect();
    words.last() == Some(&"use") && words.iter().any(|w| w.starts_with("pub"))
}

/// Parses a path or use tree at `i`: returns every leaf path (segments, `self` leaves
/// folded into their parent) and the index after it.
fn parse_tree(code: &[char], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    loop {
        while i < code.len() && code[i].is_whitespace() {
            i += 1;
        }
        if i < code.len() && code[i] == '{' {
            i += 1;
            let mut leaves = Vec::new();
            loop {
                while i < code.len() && (code[i].is_whitespace() || code[i] == ',') {
                    i += 1;
                }
                if i >= code.len() || code[i] == '}' {
                    i += 1;
                    break;
                }
                let (sub, end) = parse_tree(code, i);
                for s in sub {
                    let mut full = prefix.clone();
                    full.extend(s.into_iter().filter(|seg| seg != "self"));
                    leaves.push(full);
                }
                i = end;
                // Skip `as name`.
                while i < code.len() && !matches!(code[i], ',' | '}') {
                    i += 1;
                }
            }
            return (leaves, i);
        }
        let start = i;
        while i < code.len() && (code[i].is_alphanumeric() || code[i] == '_' || code[i] == '*') {
            i += 1;
        }
        if start == i {
            return (vec![prefix], i);
        }
        prefix.push(code[start..i].iter().collect());
        if code.get(i) == Some(&':') && code.get(i + 1) == Some(&':') {
            i += 2;
        } else {
            return (vec![prefix], i);
        }
    }
}

fn resolve_root(file: &File, segs: &[String]) -> Option<Vec<String>> {
    let (root, rest) = segs.split_first()?;
    let mut base = match root.as_str() {
        "crate" => Vec::new(),
        "self" => file.module.clone(),
        "super" => {
            let mut m = file.module.clone();
            if !file.is_mod_root || file.rel == "main.rs" {
                m.pop();
            }
            m
        }
        _ => return None,
    };
    let mut rest = rest.to_vec();
    while rest.first().map(String::as_str) == Some("super") {
        base.pop();
        rest.remove(0);
    }
    base.extend(rest);
    Some(base)
}

struct House {
    files: Vec<File>,
    by_module: HashMap<Vec<String>, usize>,
    modules: BTreeSet<Vec<String>>,
    /// Per file: re-exported name → the path it re-exports.
    reexports: Vec<HashMap<String, Vec<String>>>,
}

impl House {
    fn new(files: Vec<File>) -> Self {
        let by_module: HashMap<Vec<String>, usize> = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.module.clone(), i))
            .collect();
        let modules: BTreeSet<Vec<String>> = by_module.keys().cloned().collect();
        let reexports = files
            .iter()
            .map(|f| {
                named_paths(f, &modules)
                    .into_iter()
                    .filter(|(_, re)| *re)
                    .filter_map(|(p, _)| Some((p.last()?.clone(), p)))
                    .collect()
            })
            .collect();
        House {
            files,
            by_module,
            modules,
            reexports,
        }
    }

    /// The file defining `path` (longest module prefix, then through re-exports).
    fn resolve(&self, path: &[String], depth: usize) -> Option<usize> {
        let (len, file) = (0..=path.len())
            .rev()
            .find_map(|n| self.by_module.get(&path[..n]).map(|&f| (n, f)))?;
        if depth < 8
            && let Some(name) = path.get(len)
            && let Some(target) = self.reexports[file].get(name)
            && let Some(f) = self.resolve(target, depth + 1)
        {
            return Some(f);
        }
        Some(file)
    }

    /// file → the files it imports from, with the names that tie them.
    fn edges(&self) -> BTreeMap<usize, BTreeMap<usize, BTreeSet<String>>> {
        let mut edges: BTreeMap<usize, BTreeMap<usize, BTreeSet<String>>> = BTreeMap::new();
        for (i, f) in self.files.iter().enumerate() {
            for (path, reexport) in named_paths(f, &self.modules) {
                // A module root re-exporting its own children is how Rust spells a folder's
                // public face, not an import.
                if reexport && f.is_mod_root && path.starts_with(&f.module) {
                    continue;
                }
                if let Some(j) = self.resolve(&path, 0)
                    && j != i
                {
                    edges
                        .entry(i)
                        .or_default()
                        .entry(j)
                        .or_default()
                        .insert(path.join("::"));
                }
            }
        }
        edges
    }
}

fn house() -> House {
    House::new(load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src")))
}

#[test]
fn no_file_imports_from_a_higher_floor() {
    let house = house();
    let mut upward = Vec::new();
    for (from, tos) in house.edges() {
        let f = &house.files[from];
        for (to, names) in tos {
            let t = &house.files[to];
            if floor_of(&t.module) > floor_of(&f.module) {
                upward.push(format!("{} -> {}: {:?}", f.rel, t.rel, names));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that run up a floor:\n{}",
        upward.join("\n")
    );
    assert!(
        house.files.len() > 50,
        "the reader found too few files: {}",
        house.files.len()
    );
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let house = house();
    let edges = house.edges();
    let circles = strongly_connected(house.files.len(), &edges);
    let described: Vec<String> = circles
        .iter()
        .map(|c| {
            let mut lines = vec![format!("circle of {} files:", c.len())];
            for &a in c {
                for (b, names) in edges.get(&a).into_iter().flatten() {
                    if c.contains(b) {
                        lines.push(format!(
                            "  {} -> {}: {:?}",
                            house.files[a].rel, house.files[*b].rel, names
                        ));
                    }
                }
            }
            lines.join("\n")
        })
        .collect();
    assert!(described.is_empty(), "{}", described.join("\n"));
}

/// The reader itself: a circle and an upward import it must see, in a made-up house.
#[test]
fn the_floor_reader_sees_use_trees_reexports_and_inline_paths() {
    let file = |rel: &str, module: &[&str], root: bool, code: &str| File {
        rel: rel.into(),
        module: module.iter().map(|s| s.to_string()).collect(),
        is_mod_root: root,
        code: strip(code),
    };
    let house = House::new(vec![
        file("lib.rs", &[], true, "pub mod a; pub mod ops;"),
        file(
            "ops/mod.rs",
            &["ops"],
            true,
            "pub use caller::Caller; // crate::web::X\n",
        ),
        file(
            "ops/caller.rs",
            &["ops", "caller"],
            false,
            "use crate::{config::{self, Y}, state::S};\nlet s = \"crate::web::Z\";",
        ),
        file(
            "config.rs",
            &["config"],
            false,
            "fn f() { crate::ops::Caller::new() }",
        ),
        file("state.rs", &["state"], false, "use super::ops::caller::*;"),
    ]);
    let edges = house.edges();
    let names = |a: usize, b: usize| {
        edges
            .get(&a)
            .and_then(|m| m.get(&b))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(names(2, 3).len(), 2, "config and config::Y: {edges:?}");
    assert_eq!(
        names(3, 2).len(),
        1,
        "config reaches caller.rs through the re-export: {edges:?}"
    );
    assert!(names(4, 2).contains("ops::caller::*"), "{edges:?}");
    assert!(
        names(1, 2).is_empty(),
        "a folder re-exporting its child is no import"
    );
    assert!(
        edges
            .values()
            .all(|m| !m.keys().any(|&k| house.files[k].rel.starts_with("web")))
    );
    let circles = strongly_connected(house.files.len(), &edges);
    assert_eq!(circles.len(), 1, "{circles:?}");
}

/// Tarjan's strongly connected components of more than one file.
fn strongly_connected(
    n: usize,
    edges: &BTreeMap<usize, BTreeMap<usize, BTreeSet<String>>>,
) -> Vec<Vec<usize>> {
    struct T<'a> {
        edges: &'a BTreeMap<usize, BTreeMap<usize, BTreeSet<String>>>,
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(t: &mut T, v: usize) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on_stack[v] = true;
        let succ: Vec<usize> = t
            .edges
            .get(&v)
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        for w in succ {
            match t.index[w] {
                None => {
                    visit(t, w);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(iw) if t.on_stack[w] => t.low[v] = t.low[v].min(iw),
                _ => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = t.stack.pop().unwrap();
                t.on_stack[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if t.index[v].is_none() {
            visit(&mut t, v);
        }
    }
    t.out
}
