//! The permission vocabulary (DESIGN.md "REST API" scopes) and the one table that maps an
//! org access level to the scopes it carries. Every operation checks one scope; nothing
//! else decides permissions.

use std::fmt;

use crate::models::membership::Role;

/// One permission. The string form is what API tokens carry (`aiProviders:create`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Scope {
    AiProvidersList,
    AiProvidersGet,
    AiProvidersCreate,
    AiProvidersUpdate,
    AiProvidersDelete,
    AiProvidersActivate,
    AiProvidersTest,
    SettingsGet,
    SettingsUpdate,
    SkillsList,
    SkillsGet,
    SkillsCreate,
    SkillsUpdate,
    SkillsDelete,
    AuditRead,
    TokensManage,
    /// The relay (`/relay/orgs/{org}/features/{feature}/…`).
    AiRelay,
    /// The key itself in route answers: granted only by an operator on the CLI.
    AiRelease,
    AiResolve,
    /// Console-only (no API token carries it): see the org's members.
    MembersList,
    /// Console-only: add, re-role and remove members.
    MembersManage,
}

impl Scope {
    /// Every scope, in the order of the enum.
    pub const ALL: [Scope; 21] = [
        Scope::AiProvidersList,
        Scope::AiProvidersGet,
        Scope::AiProvidersCreate,
        Scope::AiProvidersUpdate,
        Scope::AiProvidersDelete,
        Scope::AiProvidersActivate,
        Scope::AiProvidersTest,
        Scope::SettingsGet,
        Scope::SettingsUpdate,
        Scope::SkillsList,
        Scope::SkillsGet,
        Scope::SkillsCreate,
        Scope::SkillsUpdate,
        Scope::SkillsDelete,
        Scope::AuditRead,
        Scope::TokensManage,
        Scope::AiRelay,
        Scope::AiRelease,
        Scope::AiResolve,
        Scope::MembersList,
        Scope::MembersManage,
    ];

    /// The token form, e.g. `aiProviders:list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::AiProvidersList => "aiProviders:list",
            Scope::AiProvidersGet => "aiProviders:get",
            Scope::AiProvidersCreate => "aiProviders:create",
            Scope::AiProvidersUpdate => "aiProviders:update",
            Scope::AiProvidersDelete => "aiProviders:delete",
            Scope::AiProvidersActivate => "aiProviders:activate",
            Scope::AiProvidersTest => "aiProviders:test",
            Scope::SettingsGet => "settings:get",
            Scope::SettingsUpdate => "settings:update",
            Scope::SkillsList => "skills:list",
            Scope::SkillsGet => "skills:get",
            Scope::SkillsCreate => "skills:create",
            Scope::SkillsUpdate => "skills:update",
            Scope::SkillsDelete => "skills:delete",
            Scope::AuditRead => "audit:read",
            Scope::TokensManage => "tokens:manage",
            Scope::AiResolve => "ai:resolve",
            Scope::AiRelay => "ai:relay",
            Scope::AiRelease => "ai:release",
            Scope::MembersList => "members:list",
            Scope::MembersManage => "members:manage",
        }
    }

    /// Whether the scope only reads.
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Scope::AiProvidersList
                | Scope::AiProvidersGet
                | Scope::SettingsGet
                | Scope::SkillsList
                | Scope::SkillsGet
                | Scope::AuditRead
                | Scope::MembersList
        )
    }

    /// Parses the token form.
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    /// The scope a seed document's permission name stands for (the AI Providers Module's
    /// `aiProviders:ListAiProviders`, …; DESIGN.md "Seed-compatible surfaces"): accepted
    /// where a token's scopes are named, stored as the canonical scope.
    pub fn from_alias(s: &str) -> Option<Scope> {
        SEED_ALIASES
            .iter()
            .find(|(alias, _)| *alias == s)
            .map(|(_, scope)| *scope)
    }

    /// Parses the token form or a seed document's alias of it.
    pub fn parse_or_alias(s: &str) -> Option<Scope> {
        Scope::parse(s).or_else(|| Scope::from_alias(s))
    }
}

/// The AI Providers Module's permission names (seed 001) and the scopes they stand for.
pub const SEED_ALIASES: [(&str, Scope); 5] = [
    ("aiProviders:ListAiProviders", Scope::AiProvidersList),
    ("aiProviders:GetAiProvider", Scope::AiProvidersGet),
    ("aiProviders:CreateAiProvider", Scope::AiProvidersCreate),
    ("aiProviders:UpdateAiProvider", Scope::AiProvidersUpdate),
    ("aiProviders:DeleteAiProvider", Scope::AiProvidersDelete),
];

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes (a bit set: there are fewer than 32).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct ScopeSet(u32);

impl ScopeSet {
    /// No scope at all.
    pub const EMPTY: ScopeSet = ScopeSet(0);

    /// The set of `scopes`.
    pub fn of(scopes: &[Scope]) -> Self {
        Self(scopes.iter().fold(0, |bits, s| bits | 1 << *s as u8))
    }

    /// Every scope.
    pub fn all() -> Self {
        Self::of(&Scope::ALL)
    }

    /// Whether `scope` is in the set.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & (1 << scope as u8) != 0
    }

    /// Scopes in both sets (a token's scopes cut to what its creator may do now).
    pub fn intersect(self, other: ScopeSet) -> Self {
        Self(self.0 & other.0)
    }

    /// Whether any scope in the set changes something.
    pub fn can_write(self) -> bool {
        self.iter().any(|s| !s.is_read())
    }

    /// The scopes in the set, in enum order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Scope::as_str))
            .finish()
    }
}

/// How a caller may use an org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// An admin of the org: every scope of the org.
    Admin,
    /// A member: reads providers, skills and settings; no key previews, no audit trail.
    Member,
    /// Support staff: read every org, audit trail included; never a write, no key previews.
    Support,
    /// An operator at the server (the CLI): every scope of every org.
    Operator,
}

const MEMBER_READS: [Scope; 5] = [
    Scope::AiProvidersList,
    Scope::AiProvidersGet,
    Scope::SkillsList,
    Scope::SkillsGet,
    Scope::SettingsGet,
];

impl Access {
    /// The one role → access table, for every kind of caller that acts as a person of an
    /// org (a console session, or a token acting with its creator's rights): an admin or a
    /// member by their role there; support staff, who are never members, read every org;
    /// anyone else has no access (`None`: the org does not exist for them).
    pub fn of(role: Option<Role>, support: bool) -> Option<Access> {
        match (role, support) {
            (Some(Role::Admin), _) => Some(Access::Admin),
            (Some(Role::Member), _) => Some(Access::Member),
            (None, true) => Some(Access::Support),
            (None, false) => None,
        }
    }

    /// The one access → scopes table (DESIGN.md "Architecture").
    pub fn scopes(self) -> ScopeSet {
        match self {
            Access::Admin | Access::Operator => ScopeSet::all(),
            Access::Member => ScopeSet::of(&MEMBER_READS),
            Access::Support => {
                let mut reads = MEMBER_READS.to_vec();
                reads.extend([Scope::AuditRead, Scope::MembersList]);
                ScopeSet::of(&reads)
            }
        }
    }

    /// Whether the caller sees masked key previews (admins only; members and support see
    /// just "key set").
    pub fn sees_key_preview(self) -> bool {
        matches!(self, Access::Admin | Access::Operator)
    }

    /// A short label for the page header.
    pub fn label(self) -> &'static str {
        match self {
            Access::Admin => "admin",
            Access::Member => "member · read-only",
            Access::Support => "support · read-only",
            Access::Operator => "operator",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_access_table_matches_the_design() {
        let member = Access::Member.scopes();
        assert!(member.contains(Scope::AiProvidersList) && member.contains(Scope::SettingsGet));
        assert!(!member.contains(Scope::AuditRead) && !member.can_write());
        let support = Access::Support.scopes();
        assert!(support.contains(Scope::AuditRead) && !support.can_write());
        assert!(
            Scope::ALL
                .iter()
                .all(|s| Access::Admin.scopes().contains(*s))
        );
        assert!(!Access::Member.sees_key_preview() && !Access::Support.sees_key_preview());
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
        for (alias, scope) in SEED_ALIASES {
            assert_eq!(Scope::parse_or_alias(alias), Some(scope));
            assert_eq!(Scope::parse(alias), None, "an alias is never stored");
        }
        let cut = ScopeSet::of(&[Scope::AiProvidersCreate, Scope::SettingsGet]).intersect(member);
        assert_eq!(cut, ScopeSet::of(&[Scope::SettingsGet]));
    }
}
