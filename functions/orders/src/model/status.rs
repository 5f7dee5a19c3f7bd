//! The statuses of orders, fulfilments, payments and refunds: each a closed
//! set of snake_case strings in items and in the API. Those the stream reads
//! too are defined with the read models in `shared::contracts::order`.

pub use shared::contracts::order::{FulfilmentStatus, OrderStatus, PaymentState};

shared::string_enum! {
    /// How the buyer pays.
    PaymentMethod {
        Card = "card",
        Invoice = "invoice",
    }
}

shared::string_enum! {
    RefundState {
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
    }
}
