//! `user`, `org` and `member`: the operator's commands for people and organisations.

use clap::Subcommand;

use super::plumbing::{StateCommand, line, org_by_slug, password_from_stdin};
use crate::{
    models::membership::Role,
    ops::{
        Caller,
        accounts::{self, NewAccount},
        members::{self, AddMember},
        orgs::{self, NewOrgInput},
    },
};

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Support staff: may read every org, never change anything.
        #[arg(long)]
        support: bool,
        /// Read the password from standard input (required: passwords never go in argv).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (read from standard input) and log them out everywhere.
    SetPassword {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (required: passwords never go in argv).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: they can no longer log in and every session of theirs ends.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Re-enable a disabled user.
    Enable {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum OrgCommand {
    /// Create an organisation.
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum MemberCommand {
    /// Add an existing user to an org.
    Add {
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["admin", "member"])]
        role: String,
    },
}

pub(super) fn user_command(command: UserCommand) -> StateCommand {
    Box::new(move |state| {
        Box::pin(async move {
            let operator = Caller::operator(None);
            match command {
                UserCommand::Create {
                    email,
                    name,
                    support,
                    password_stdin,
                } => {
                    let password = password_from_stdin(password_stdin)?;
                    let input = NewAccount {
                        email,
                        name,
                        support,
                        password,
                    };
                    let user = accounts::create_user(state, &operator, input)
                        .await
                        .map_err(line)?;
                    Ok(format!(
                        "created user {} (id {}{})",
                        user.email,
                        user.id,
                        if support { ", support staff" } else { "" }
                    ))
                }
                UserCommand::SetPassword {
                    email,
                    password_stdin,
                } => {
                    let password = password_from_stdin(password_stdin)?;
                    let user = accounts::reset_password(state, &operator, &email, password)
                        .await
                        .map_err(line)?;
                    Ok(format!(
                        "set a new password for {}; their sessions have ended",
                        user.email
                    ))
                }
                UserCommand::Disable { ref email } | UserCommand::Enable { ref email } => {
                    let disable = matches!(command, UserCommand::Disable { .. });
                    let (user, changed) = accounts::set_disabled(state, &operator, email, disable)
                        .await
                        .map_err(line)?;
                    Ok(match (disable, changed) {
                        (true, true) => {
                            format!("disabled {}; their sessions have ended", user.email)
                        }
                        (false, true) => format!("enabled {}", user.email),
                        (true, false) => format!("{} was already disabled", user.email),
                        (false, false) => format!("{} was not disabled", user.email),
                    })
                }
            }
        })
    })
}

pub(super) fn org_command(command: OrgCommand) -> StateCommand {
    Box::new(move |state| {
        Box::pin(async move {
            let OrgCommand::Create { slug, name } = command;
            let org = orgs::create_org(state, &Caller::operator(None), NewOrgInput { slug, name })
                .await
                .map_err(line)?;
            Ok(format!("created org {} ({})", org.slug, org.name))
        })
    })
}

pub(super) fn member_command(command: MemberCommand) -> StateCommand {
    Box::new(move |state| {
        Box::pin(async move {
            let MemberCommand::Add { org, email, role } = command;
            let role = Role::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("role must be admin or member"))?;
            let org = org_by_slug(state, &org).await?;
            let slug = org.slug.clone();
            let caller = Caller::operator(Some(org));
            let user = members::add_member(state, &caller, AddMember { email, role })
                .await
                .map_err(line)?;
            Ok(format!(
                "added {} to {slug} as {}",
                user.email,
                role.as_str()
            ))
        })
    })
}
