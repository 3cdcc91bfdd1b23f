//! The route table: reads like the URL map in DESIGN.md. Public routes carry no session;
//! console routes sit behind the session + CSRF stack that `startup` wraps around them.

use actix_web::{middleware::from_fn, web};

use super::{
    account, advanced, assets, audit, errors, health, home, insights, invitations, login, members,
    provider, skills, support, tokens, urls::INVITATION,
};
use crate::auth::context::resolve_org;

/// Probes, metrics and static assets: no session, no CSRF.
pub fn public_routes(cfg: &mut web::ServiceConfig) {
    // HEAD too: balancers probe with it, and a 404 would mark a healthy instance down.
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/healthz", web::head().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/readyz", web::head().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .route("/static/{file}", web::get().to(assets::serve))
        .route(
            "/static/{hash}/{file}",
            web::get().to(assets::serve_versioned),
        );
}

/// The console's pages and forms.
pub fn console_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(login::login_form))
        .route("/login", web::post().to(login::log_in))
        .route("/logout", web::post().to(login::log_out))
        .route("/setup", web::get().to(login::setup_form))
        .route("/setup", web::post().to(login::set_up))
        .route("/account/password", web::get().to(account::password_form))
        .route(
            "/account/password",
            web::post().to(account::change_password),
        )
        .route(INVITATION, web::get().to(invitations::show_invitation))
        .route(
            "/invitations/accept",
            web::post().to(invitations::accept_invitation),
        )
        .route(
            "/invitations/log-in",
            web::post().to(invitations::log_in_and_accept),
        )
        .route(
            "/invitations/sign-up",
            web::post().to(invitations::sign_up_and_accept),
        )
        .route("/", web::get().to(home::org_picker))
        .route("/support/orgs", web::get().to(support::support_orgs))
        .service(
            web::scope("/orgs/{org}")
                .wrap(from_fn(resolve_org))
                // The org's own address and its settings lead to the AI settings.
                .route("", web::get().to(errors::to_ai_settings))
                .route("/", web::get().to(errors::to_ai_settings))
                .route("/settings", web::get().to(errors::to_ai_settings))
                .route("/settings/", web::get().to(errors::to_ai_settings))
                .route("/settings/ai", web::get().to(insights::default_tab))
                .route(
                    "/settings/ai/provider",
                    web::get().to(provider::show_provider_tab),
                )
                .route("/settings/ai/skills", web::get().to(skills::show_skills))
                .route("/settings/ai/skills", web::post().to(skills::create_skill))
                .route(
                    "/settings/ai/skills/new",
                    web::get().to(skills::new_skill_form),
                )
                .route(
                    "/settings/ai/skills/{id}",
                    web::get().to(skills::show_skill),
                )
                .route(
                    "/settings/ai/skills/{id}",
                    web::post().to(skills::update_skill),
                )
                .route(
                    "/settings/ai/skills/{id}/edit",
                    web::get().to(skills::edit_skill_form),
                )
                .route(
                    "/settings/ai/skills/{id}/enabled",
                    web::post().to(skills::set_skill_enabled),
                )
                .route(
                    "/settings/ai/skills/{id}/delete",
                    web::get().to(skills::confirm_delete_skill),
                )
                .route(
                    "/settings/ai/skills/{id}/delete",
                    web::post().to(skills::delete_skill),
                )
                .route(
                    "/settings/ai/advanced",
                    web::get().to(advanced::show_advanced),
                )
                .route(
                    "/settings/ai/provider/new",
                    web::get().to(provider::new_provider_form),
                )
                .route(
                    "/settings/ai/provider/models",
                    web::post().to(provider::load_models_new),
                )
                .route(
                    "/settings/ai/providers/{id}/models",
                    web::post().to(provider::load_models_edit),
                )
                .route(
                    "/settings/ai/provider/deactivate",
                    web::get().to(provider::confirm_deactivate),
                )
                .route(
                    "/settings/ai/provider/deactivate",
                    web::post().to(provider::deactivate_provider),
                )
                .route(
                    "/settings/ai/provider/features/{feature}/route",
                    web::get().to(provider::route_preview),
                )
                .route(
                    "/settings/ai/provider/features/{feature}/route",
                    web::post().to(provider::set_feature_route),
                )
                .route(
                    "/settings/ai/provider/routing-policy",
                    web::post().to(provider::set_routing_policy),
                )
                .route(
                    "/settings/ai/providers",
                    web::post().to(provider::create_provider),
                )
                .route(
                    "/settings/ai/providers/{id}",
                    web::post().to(provider::update_provider),
                )
                .route(
                    "/settings/ai/providers/{id}/edit",
                    web::get().to(provider::edit_provider_form),
                )
                .route(
                    "/settings/ai/providers/{id}/test",
                    web::post().to(provider::test_provider),
                )
                .route(
                    "/settings/ai/providers/{id}/activate",
                    web::get().to(provider::activation_preview),
                )
                .route(
                    "/settings/ai/providers/{id}/activate",
                    web::post().to(provider::activate_provider),
                )
                .route(
                    "/settings/ai/providers/{id}/delete",
                    web::get().to(provider::confirm_delete),
                )
                .route(
                    "/settings/ai/providers/{id}/delete",
                    web::post().to(provider::delete_provider),
                )
                .route(
                    "/settings/ai/providers/{id}/remove-key",
                    web::get().to(provider::confirm_remove_key),
                )
                .route(
                    "/settings/ai/providers/{id}/remove-key",
                    web::post().to(provider::remove_key),
                )
                .route(
                    "/settings/ai/insights",
                    web::get().to(insights::show_insights),
                )
                .route(
                    "/settings/ai/insights",
                    web::post().to(insights::update_insights),
                )
                .route("/settings/ai/audit", web::get().to(audit::show_audit))
                .route(
                    "/settings/ai/audit/export.{format}",
                    web::get().to(audit::export_audit),
                )
                .route("/settings/members", web::get().to(members::list_members))
                .route(
                    "/settings/members/invitations",
                    web::post().to(members::create_invitation),
                )
                .route(
                    "/settings/members/invitations/{id}/revoke",
                    web::get().to(members::confirm_revoke_invitation),
                )
                .route(
                    "/settings/members/invitations/{id}/revoke",
                    web::post().to(members::revoke_invitation),
                )
                .route(
                    "/settings/members/{user_id}/role",
                    web::post().to(members::change_role),
                )
                .route(
                    "/settings/members/{user_id}/remove",
                    web::get().to(members::confirm_remove_member),
                )
                .route(
                    "/settings/members/{user_id}/remove",
                    web::post().to(members::remove_member),
                )
                .route("/settings/tokens", web::get().to(tokens::list_tokens))
                .route("/settings/tokens", web::post().to(tokens::create_token))
                .route(
                    "/settings/tokens/{id}/revoke",
                    web::get().to(tokens::confirm_revoke_token),
                )
                .route(
                    "/settings/tokens/{id}/revoke",
                    web::post().to(tokens::revoke_token),
                )
                // A mistyped tab or action inside an org: a 404 in the org's frame.
                .default_service(web::to(errors::not_found_in_org)),
        )
        .default_service(web::to(errors::not_found));
}
