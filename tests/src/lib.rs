//! Test harness: each test gets the whole API on a fresh table of the local
//! stack, and a `TestApp` with one method per endpoint, so tests read like
//! journeys. `make test` starts the stack and exports its endpoints.
//!
//! - `app`: `spawn_app`, `TestApp`'s raw requests, `TestResponse`'s checks.
//! - `endpoints/*`: one `TestApp` method per endpoint, by context.
//! - `mailbox`: the emails the local SES accepted, after the platform
//!   email queue is handed to its worker.
//! - `http`, `stripe`: clients of what runs outside the router.
//! - `samples`, `template`: events/ and template.yaml.
//! - `dynamo`: a private DynamoDB Local to stop at will.
//! - `faults`: `FaultProxy`, a loopback proxy that throttles, slows or
//!   resets calls to DynamoDB Local or moto.
//! - `wait`: `eventually`, for the little the tests cannot drive.
//! - `diff`: `line_diff` for snapshot messages.

mod app;
mod diff;
mod dynamo;
mod endpoints;
mod faults;
mod http;
mod mailbox;
mod samples;
mod stripe;
mod template;
mod wait;

pub use app::{
    Auth, PASSWORD, TestApp, TestResponse, kept_secret, repo_root, spawn_app, spawn_app_via,
    spawn_app_with, stack_config,
};
pub use diff::line_diff;
pub use dynamo::PrivateDynamo;
pub use endpoints::catalog::{made_to_order_product, product_body};
pub use endpoints::identity::{MY_ADDRESSES, address_body, org_addresses};
pub use endpoints::mfa::{Authenticator, Enrolled, totp};
pub use endpoints::orders::checkout_body;
pub use endpoints::studio::{design_body, publish_body};
pub use faults::{FaultProxy, Faults};
pub use http::http_request;
pub use mailbox::{SentEmail, unique_email};
pub use samples::sample_events;
pub use stripe::{stripe_confirm_card, stripe_intent};
pub use template::{openapi_routes, template, template_routes};
pub use wait::eventually;

use app::require_stack;
