//! The abuse limits of the identity endpoints, per fixed window
//! (`RATE_LIMIT_WINDOW_SECONDS`, 15 minutes by default). Per-email limits
//! stop guessing at one account; per-IP limits stop spraying many.

use shared::ratelimit::Limit;

pub const LOGIN_PER_EMAIL: Limit = Limit {
    name: "login-email",
    max: 5,
};
pub const LOGIN_PER_IP: Limit = Limit {
    name: "login-ip",
    max: 30,
};
pub const REGISTER_PER_EMAIL: Limit = Limit {
    name: "register-email",
    max: 5,
};
pub const REGISTER_PER_IP: Limit = Limit {
    name: "register-ip",
    max: 30,
};
pub const RESET_PER_EMAIL: Limit = Limit {
    name: "reset-email",
    max: 5,
};
pub const RESET_PER_IP: Limit = Limit {
    name: "reset-ip",
    max: 30,
};
pub const VERIFY_PER_EMAIL: Limit = Limit {
    name: "verify-email",
    max: 5,
};
pub const VERIFY_PER_IP: Limit = Limit {
    name: "verify-ip",
    max: 30,
};
