//! The items of the orders context and how the API shows them.
//!
//! Items (see docs/data-model.md, "Orders"):
//! - `CART#<buyer> / CART`: the buyer's one cart (`<buyer>` is `USER#<id>`
//!   or `ORG#<id>`), its lines in one item so checkout deletes it with one
//!   write; `version` guards every change.
//! - `ORDER#<id> / ORDER`: the order with its lines, totals, addresses,
//!   payment and history. Indexes:
//!   GSI1 `ORDERS#BUYER#<buyer> / <id>` (a buyer's orders, newest first),
//!   GSI2 `ORDERS#STATUS#<status> / <id>` (admin: by status),
//!   GSI3 `ORDERS#ALL / <id>` (admin: all),
//!   GSI4 `ORDERS#EXPIRING / <expiresAt:010>#<id>` only while a card order
//!   waits for payment (the expiry sweep's queue; sparse).
//! - `ORDER#<id> / FULFILMENT#<sellerOrgId>`: one per seller org, with that
//!   seller's lines and the shipping address. GSI1
//!   `FULFILMENTS#SELLER#<orgId> / <orderId>` (a seller's fulfilments).
//!
//! One file per concept: `keys` (types, keys and index partitions),
//! `status` (the status enums), `address`, `order` (the order item, its
//! buyer, lines, totals and history, and its view), `payment` (payment and
//! refund), `fulfilment` (the item and its view).

mod address;
mod fulfilment;
mod keys;
mod order;
mod payment;
mod status;

pub use address::Address;
pub use fulfilment::{FulfilmentRecord, FulfilmentView};
pub use keys::*;
pub use order::{Buyer, HistoryEntry, OrderLine, OrderRecord, OrderView, Totals};
pub use payment::{Payment, Refund};
pub use status::{FulfilmentStatus, OrderStatus, PaymentMethod, PaymentState, RefundState};
