//! The statuses of orders, fulfilments, payments and refunds: each a closed
//! set of snake_case strings in items and in the API.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! status_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:tt,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

status_enum! {
    /// Where an order is: `pending_payment` → `paid` → `fulfilling` →
    /// `shipped` → `delivered`, or `cancelled` / `refunded`.
    OrderStatus {
        PendingPayment = "pending_payment",
        Paid = "paid",
        Fulfilling = "fulfilling",
        Shipped = "shipped",
        Delivered = "delivered",
        Cancelled = "cancelled",
        Refunded = "refunded",
    }
}

status_enum! {
    /// Where one seller's part of an order is. Sellers move it from `paid`
    /// (ready to fulfil) to `fulfilling`, `shipped` and `delivered`.
    FulfilmentStatus {
        PendingPayment = "pending_payment",
        Paid = "paid",
        Fulfilling = "fulfilling",
        Shipped = "shipped",
        Delivered = "delivered",
        Cancelled = "cancelled",
    }
}

status_enum! {
    /// How the buyer pays.
    PaymentMethod {
        Card = "card",
        Invoice = "invoice",
    }
}

status_enum! {
    PaymentState {
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
        Refunded = "refunded",
    }
}

status_enum! {
    RefundState {
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
    }
}
