// @generated automatically by Diesel CLI.

diesel::table! {
    api_tokens (id) {
        id -> Int8,
        org_id -> Int8,
        user_id -> Int8,
        name -> Text,
        scopes -> Array<Text>,
        token_hash -> Bytea,
        prefix -> Text,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        revoked_by -> Nullable<Int8>,
        kind -> Text,
    }
}

diesel::table! {
    audit_chain_checkpoints (chain_id) {
        chain_id -> Int8,
        seq -> Int8,
        event_id -> Int8,
        hash -> Bytea,
        verified_at -> Timestamptz,
    }
}

diesel::table! {
    audit_chain_heads (chain_id) {
        chain_id -> Int8,
        seq -> Int8,
        hash -> Bytea,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Int8,
        occurred_at -> Timestamptz,
        org_id -> Nullable<Int8>,
        actor_kind -> Text,
        actor_id -> Nullable<Int8>,
        actor_label -> Text,
        action -> Text,
        target -> Text,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        request_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        seq -> Int8,
        hash -> Bytea,
    }
}

diesel::table! {
    audit_signed_checkpoints (id) {
        id -> Int8,
        kind -> Text,
        chain_id -> Int8,
        seq -> Int8,
        head_hash -> Bytea,
        signed_at -> Timestamptz,
        prev_hash -> Bytea,
        hash -> Bytea,
        key_id -> Text,
        signature -> Bytea,
    }
}

diesel::table! {
    audit_verifications (chain_id, check_kind) {
        chain_id -> Int8,
        check_kind -> Text,
        checked_at -> Timestamptz,
        ok -> Bool,
        through_seq -> Int8,
        external_at -> Nullable<Timestamptz>,
        problem -> Nullable<Text>,
    }
}

diesel::table! {
    feature_routes (org_id, feature) {
        org_id -> Int8,
        feature -> Text,
        mode -> Text,
        provider_id -> Nullable<Text>,
        model -> Nullable<Text>,
        lock_version -> Int4,
        updated_at -> Timestamptz,
        updated_by -> Nullable<Int8>,
    }
}

diesel::table! {
    invitations (id) {
        id -> Int8,
        org_id -> Int8,
        email -> Text,
        role -> Text,
        token_hash -> Bytea,
        invited_by -> Nullable<Int8>,
        invited_by_label -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
        accepted_by -> Nullable<Int8>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    job_leases (name) {
        name -> Text,
        holder -> Text,
        until -> Timestamptz,
    }
}

diesel::table! {
    key_drafts (id) {
        id -> Text,
        org_id -> Int8,
        session_hash -> Bytea,
        form -> Text,
        kind -> Text,
        base_url -> Nullable<Text>,
        key_id -> Text,
        version -> Int2,
        envelope -> Bytea,
        last4 -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    login_throttles (key) {
        key -> Text,
        window_started_at -> Timestamptz,
        failures -> Int4,
        in_flight -> Int4,
        attempt_limit -> Int4,
    }
}

diesel::table! {
    memberships (org_id, user_id) {
        org_id -> Int8,
        user_id -> Int8,
        role -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    org_ai_settings (org_id) {
        org_id -> Int8,
        active_provider_id -> Nullable<Text>,
        routing_policy -> Text,
        insights_enabled -> Bool,
        updated_at -> Timestamptz,
        updated_by -> Nullable<Int8>,
        lock_version -> Int4,
    }
}

diesel::table! {
    org_epochs (org_id) {
        org_id -> Int8,
        epoch -> Int8,
    }
}

diesel::table! {
    orgs (id) {
        id -> Int8,
        slug -> Text,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    providers (id) {
        id -> Text,
        org_id -> Int8,
        name -> Text,
        kind -> Text,
        default_model -> Text,
        base_url -> Nullable<Text>,
        config -> Jsonb,
        secret_id -> Nullable<Text>,
        check_status -> Text,
        check_code -> Nullable<Text>,
        check_message -> Nullable<Text>,
        checked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        created_by -> Nullable<Int8>,
        updated_by -> Nullable<Int8>,
        lock_version -> Int4,
        recheck_lease_until -> Nullable<Timestamptz>,
        attention_since -> Nullable<Timestamptz>,
        immediate_recheck_minute -> Nullable<Timestamptz>,
        headers_secret_id -> Nullable<Text>,
    }
}

diesel::table! {
    provider_usage (org_id, provider_id, minute, feature, outcome, code) {
        org_id -> Int8,
        provider_id -> Text,
        feature -> Text,
        minute -> Timestamptz,
        outcome -> Text,
        code -> Text,
        calls -> Int8,
        latency_ms_sum -> Int8,
        latency_ms_max -> Int8,
        input_tokens -> Int8,
        output_tokens -> Int8,
        last_at -> Timestamptz,
    }
}

diesel::table! {
    route_releases (token_id, secret_id, hour) {
        token_id -> Int8,
        secret_id -> Text,
        hour -> Timestamptz,
        org_id -> Int8,
        provider_id -> Text,
        calls -> Int8,
        first_at -> Timestamptz,
    }
}

diesel::table! {
    secrets (id) {
        id -> Text,
        org_id -> Int8,
        key_id -> Text,
        version -> Int2,
        envelope -> Bytea,
        preview -> Text,
        last4 -> Text,
        created_at -> Timestamptz,
        created_by -> Nullable<Int8>,
        rotated_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sessions (key_hash) {
        key_hash -> Bytea,
        state -> Text,
        created_at -> Timestamptz,
        idle_expires_at -> Timestamptz,
        absolute_expires_at -> Timestamptz,
    }
}

diesel::table! {
    setup_tokens (singleton) {
        singleton -> Bool,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    skills (id) {
        id -> Text,
        org_id -> Int8,
        name -> Text,
        description -> Text,
        instructions -> Text,
        enabled -> Bool,
        instructions_chars -> Nullable<Int4>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        created_by -> Nullable<Int8>,
        updated_by -> Nullable<Int8>,
        lock_version -> Int4,
    }
}

diesel::table! {
    support_views (session_id, org_id) {
        session_id -> Text,
        org_id -> Int8,
        last_recorded_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        support -> Bool,
        disabled -> Bool,
        session_epoch -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(api_tokens -> orgs (org_id));
diesel::joinable!(audit_events -> orgs (org_id));
diesel::joinable!(feature_routes -> orgs (org_id));
diesel::joinable!(feature_routes -> users (updated_by));
diesel::joinable!(invitations -> orgs (org_id));
diesel::joinable!(key_drafts -> orgs (org_id));
diesel::joinable!(memberships -> orgs (org_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(org_ai_settings -> orgs (org_id));
diesel::joinable!(org_epochs -> orgs (org_id));
diesel::joinable!(org_ai_settings -> users (updated_by));
diesel::joinable!(provider_usage -> orgs (org_id));
diesel::joinable!(provider_usage -> providers (provider_id));
diesel::joinable!(providers -> orgs (org_id));
diesel::joinable!(route_releases -> api_tokens (token_id));
diesel::joinable!(route_releases -> orgs (org_id));
diesel::joinable!(secrets -> orgs (org_id));
diesel::joinable!(secrets -> users (created_by));
diesel::joinable!(skills -> orgs (org_id));
diesel::joinable!(support_views -> orgs (org_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    audit_chain_checkpoints,
    audit_chain_heads,
    audit_events,
    audit_signed_checkpoints,
    audit_verifications,
    feature_routes,
    invitations,
    job_leases,
    key_drafts,
    login_throttles,
    memberships,
    org_ai_settings,
    org_epochs,
    orgs,
    provider_usage,
    providers,
    route_releases,
    secrets,
    sessions,
    setup_tokens,
    skills,
    support_views,
    users,
);
