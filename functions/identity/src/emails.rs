//! The emails identity sends. Each carries a single-use code, and a button
//! into the web app with it when `PUBLIC_APP_URL` is set.

use shared::outbox::PlatformEmail;

fn action_url(base: Option<&str>, path: &str, token: &str) -> Option<String> {
    base.map(|base| format!("{base}{path}?token={token}"))
}

pub fn verify_email(name: &str, base: Option<&str>, token: &str) -> PlatformEmail {
    PlatformEmail::VerifyEmail {
        name: name.to_owned(),
        code: token.to_owned(),
        action_url: action_url(base, "/verify-email", token),
    }
}

pub fn reset_password(name: &str, base: Option<&str>, token: &str) -> PlatformEmail {
    PlatformEmail::ResetPassword {
        name: name.to_owned(),
        code: token.to_owned(),
        action_url: action_url(base, "/reset-password", token),
    }
}
