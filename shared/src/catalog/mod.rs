//! Catalog's products as every context creates them: the stored item, the
//! fields a seller sends, the rules they obey, and [`create_product`], the
//! one code path that writes a new product (catalog's `POST /v1/products`
//! and bulk create, and other contexts that publish products, such as a
//! studio design published as a made-to-order garment).
//!
//! Owned by catalog: its endpoints re-export these types, and no other
//! context writes product items except through [`create_product`], which
//! enforces catalog's rules (validation, the platform-wide SKU marker, the
//! category check, the seller's ready images) in one transaction. The search
//! index follows through the stream, as for any product write.
//!
//! Files: `item` (the stored product and SKU marker), `input` (what a seller
//! sends), `validate` (the rules), `create` (the creation command).

mod create;
mod input;
mod item;
mod validate;

pub use create::{
    MAX_INITIAL_STOCK, NewProduct, Supply, ValidProduct, category_exists, create_product,
    failed_image, not_a_ready_image, product_by_sku, push_image_checks,
};
pub use input::{CertificationInput, ComplianceInput, PriceInput, ProductDetails, ProductInput};
pub use item::{
    Certification, CertificationKind, Compliance, EDITABLE_ATTRIBUTES, LISTING_ATTRIBUTES,
    PRODUCT_TYPE, Product, ProductSource, SKU_MARKER_TYPE, SkuMarker, Unit, category_partition,
    seller_partition, sku_key,
};
pub use validate::{validate_details, validate_product_details};

pub use crate::contracts::product::PriceTier;
