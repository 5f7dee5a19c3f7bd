//! The emails identity sends. Each carries a single-use token, as a link into
//! the web app when `PUBLIC_APP_URL` is set, and as text either way.

use shared::mail::Message;

fn link(base: Option<&str>, path: &str, token: &str) -> String {
    match base {
        Some(base) => format!("{base}{path}?token={token}\n\nor enter this code: {token}"),
        None => format!("Your code: {token}"),
    }
}

pub fn verify_email(to: &str, name: &str, base: Option<&str>, token: &str) -> Message {
    Message {
        to: to.to_owned(),
        subject: "Confirm your email address".into(),
        text: format!(
            "Hello {name},\n\nPlease confirm that this is your email address:\n\n{}\n\n\
             The code works once and expires in 24 hours. If you did not create an account, ignore this email.\n",
            link(base, "/verify-email", token)
        ),
    }
}

pub fn reset_password(to: &str, name: &str, base: Option<&str>, token: &str) -> Message {
    Message {
        to: to.to_owned(),
        subject: "Reset your password".into(),
        text: format!(
            "Hello {name},\n\nSomeone asked to reset the password of your account. To choose a new one:\n\n{}\n\n\
             The code works once and expires in 30 minutes; using it signs you out everywhere. \
             If it was not you, ignore this email: your password is unchanged.\n",
            link(base, "/reset-password", token)
        ),
    }
}
