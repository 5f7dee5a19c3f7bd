//! One `TestApp` method per endpoint, a file per context, plus the journey
//! steps tests share (sign in, join an org, buy).

pub mod assets;
pub mod catalog;
pub mod identity;
pub mod mfa;
pub mod orders;
pub mod orgs;
pub mod sourcing;
pub mod studio;
