//! The abuse limits of the identity endpoints, per fixed window
//! (`RATE_LIMIT_WINDOW_SECONDS`, 15 minutes by default), each set by its
//! `AUTH_LIMIT_*` variable (`shared::config::AuthLimits`).
//!
//! Per-IP limits count failures only (wrong passwords, bad codes) or, for
//! requests that create something or send mail (registrations, reset
//! requests), every request at a height an office behind one NAT never
//! reaches; a successful sign-in never counts. Per-email limits guard one
//! account against guessing and one mailbox against floods of codes; the
//! per-account limit of wrong second-factor codes guards a stolen password.

use shared::config::AuthLimits;
use shared::ratelimit::Limit;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failed sign-ins per email (checked before, counted after a failure).
    pub login_failures_per_email: Limit,
    /// Failed sign-ins per client IP.
    pub login_failures_per_ip: Limit,
    /// Bad verification and reset codes per client IP.
    pub code_failures_per_ip: Limit,
    /// Every registration per client IP.
    pub registrations_per_ip: Limit,
    /// Every registration attempt per email.
    pub registrations_per_email: Limit,
    /// Every reset request per client IP.
    pub reset_requests_per_ip: Limit,
    /// Reset requests per email address.
    pub resets_per_email: Limit,
    /// Verification code resends per email address.
    pub verify_resends_per_email: Limit,
    /// Wrong authenticator or recovery codes per account (checked before,
    /// counted after a failure), across sign-in challenges and the
    /// enrolment endpoints.
    pub mfa_failures_per_user: Limit,
}

impl From<AuthLimits> for Limits {
    fn from(config: AuthLimits) -> Self {
        let limit = |name, max| Limit { name, max };
        Self {
            login_failures_per_email: limit(
                "login-failures-email",
                config.login_failures_per_email,
            ),
            login_failures_per_ip: limit("login-failures-ip", config.login_failures_per_ip),
            code_failures_per_ip: limit("code-failures-ip", config.code_failures_per_ip),
            registrations_per_ip: limit("register-ip", config.registrations_per_ip),
            registrations_per_email: limit("register-email", config.registrations_per_email),
            reset_requests_per_ip: limit("reset-ip", config.reset_requests_per_ip),
            resets_per_email: limit("reset-email", config.emails_per_address),
            verify_resends_per_email: limit("verify-email", config.emails_per_address),
            mfa_failures_per_user: limit("mfa-failures-user", config.mfa_failures_per_user),
        }
    }
}
