//! What an order costs, computed on the server from the products as they
//! are at checkout; the client never sends a price. All amounts are integer
//! minor units of the cart's one currency. The rules (docs/orders.md):
//!
//! - **Unit price:** the product's price tier with the highest
//!   `minQuantity` not above the line's quantity; the list price below the
//!   first tier.
//! - **Shipping:** per seller (each ships its own parcel): free when that
//!   seller's subtotal is at least 100 major units of the currency
//!   (€100.00), otherwise a flat 5 major units (€5.00).
//! - **Tax:** the shipping country's standard VAT rate from [`TAX_RATES`]
//!   on subtotal plus shipping, rounded half up to the minor unit; 0 for
//!   countries not in the table (no tax collected there).

use std::collections::BTreeMap;

use shared::contracts::product::PriceTier;
use shared::domain::Currency;
use shared::domain::money::MAX_AMOUNT;

/// Standard VAT rates in basis points (1900 = 19 %), by ISO country code.
pub const TAX_RATES: &[(&str, i64)] = &[
    ("AT", 2000),
    ("BE", 2100),
    ("CH", 810),
    ("CZ", 2100),
    ("DE", 1900),
    ("DK", 2500),
    ("ES", 2100),
    ("FI", 2550),
    ("FR", 2000),
    ("GB", 2000),
    ("IE", 2300),
    ("IT", 2200),
    ("LU", 1700),
    ("NL", 2100),
    ("NO", 2500),
    ("PL", 2300),
    ("PT", 2300),
    ("SE", 2500),
];

/// Shipping per seller parcel, in major units of the currency.
pub const SHIPPING_FLAT_MAJOR: i64 = 5;
/// A seller subtotal from which its parcel ships free, in major units.
pub const FREE_SHIPPING_FROM_MAJOR: i64 = 100;

pub fn tax_rate(country: &str) -> i64 {
    TAX_RATES
        .iter()
        .find(|(code, _)| *code == country)
        .map_or(0, |(_, rate)| *rate)
}

/// The unit price for `quantity` units: the best tier that applies.
pub fn unit_price(list_price: i64, tiers: &[PriceTier], quantity: i64) -> i64 {
    tiers
        .iter()
        .filter(|tier| tier.min_quantity <= quantity)
        .max_by_key(|tier| tier.min_quantity)
        .map_or(list_price, |tier| tier.unit_price)
}

fn major(currency: Currency, units: i64) -> i64 {
    units * 10_i64.pow(currency.minor_digits())
}

/// Shipping of one seller's parcel with `subtotal` worth of goods.
pub fn shipping(currency: Currency, seller_subtotal: i64) -> i64 {
    if seller_subtotal >= major(currency, FREE_SHIPPING_FROM_MAJOR) {
        0
    } else {
        major(currency, SHIPPING_FLAT_MAJOR)
    }
}

/// `amount * rate / 10000`, rounded half up.
pub fn tax(amount: i64, rate_basis_points: i64) -> i64 {
    let exact = i128::from(amount) * i128::from(rate_basis_points);
    i64::try_from((exact + 5_000) / 10_000).unwrap_or(i64::MAX)
}

/// A priced line before it is an order line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub seller_org_id: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub line_total: i64,
}

/// The totals of an order, and each seller's subtotal and shipping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub subtotal: i64,
    pub shipping: i64,
    pub tax_rate: i64,
    pub tax: i64,
    pub total: i64,
    /// Seller org → (subtotal, shipping).
    pub sellers: BTreeMap<String, (i64, i64)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the order total exceeds the largest amount a payment can have")]
pub struct TooLarge;

fn checked(value: Option<i64>) -> Result<i64, TooLarge> {
    value.filter(|v| *v <= MAX_AMOUNT).ok_or(TooLarge)
}

/// A line's total, or `TooLarge` past the largest payable amount.
pub fn line_total(unit_price: i64, quantity: i64) -> Result<i64, TooLarge> {
    checked(unit_price.checked_mul(quantity))
}

/// Totals for priced lines shipped to `country`.
pub fn quote(currency: Currency, country: &str, lines: &[PricedLine]) -> Result<Quote, TooLarge> {
    let mut sellers: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for line in lines {
        let entry = sellers.entry(line.seller_org_id.clone()).or_default();
        entry.0 = checked(entry.0.checked_add(line.line_total))?;
    }
    for (subtotal, ship) in sellers.values_mut() {
        *ship = shipping(currency, *subtotal);
    }
    let subtotal = checked(
        sellers
            .values()
            .try_fold(0_i64, |sum, (s, _)| sum.checked_add(*s)),
    )?;
    let shipping = checked(
        sellers
            .values()
            .try_fold(0_i64, |sum, (_, s)| sum.checked_add(*s)),
    )?;
    let taxable = checked(subtotal.checked_add(shipping))?;
    let tax_rate = tax_rate(country);
    let tax = tax(taxable, tax_rate);
    let total = checked(taxable.checked_add(tax))?;
    Ok(Quote {
        subtotal,
        shipping,
        tax_rate,
        tax,
        total,
        sellers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn tier(min_quantity: i64, unit_price: i64) -> PriceTier {
        PriceTier {
            min_quantity,
            unit_price,
        }
    }

    fn line(seller: &str, quantity: i64, unit_price: i64) -> PricedLine {
        PricedLine {
            seller_org_id: seller.into(),
            quantity,
            unit_price,
            line_total: unit_price * quantity,
        }
    }

    #[test]
    fn the_highest_tier_reached_sets_the_unit_price() {
        let tiers = [tier(10, 900), tier(50, 800)];
        assert_eq!(unit_price(1000, &tiers, 9), 1000);
        assert_eq!(unit_price(1000, &tiers, 10), 900);
        assert_eq!(unit_price(1000, &tiers, 49), 900);
        assert_eq!(unit_price(1000, &tiers, 50), 800);
        assert_eq!(unit_price(1000, &[], 500), 1000);
    }

    #[test]
    fn shipping_is_per_seller_and_free_from_one_hundred() {
        let q = quote(
            eur(),
            "DE",
            &[line("a", 1, 9_999), line("b", 2, 5_000), line("b", 1, 1)],
        )
        .unwrap();
        assert_eq!(q.sellers["a"], (9_999, 500));
        assert_eq!(q.sellers["b"], (10_001, 0));
        assert_eq!(q.shipping, 500);
        assert_eq!(q.subtotal, 20_000);
    }

    #[test]
    fn shipping_follows_the_currency_minor_unit() {
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(shipping(jpy, 99), 5);
        assert_eq!(shipping(jpy, 100), 0);
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(shipping(kwd, 1_000), 5_000);
    }

    #[test]
    fn tax_is_the_country_rate_on_goods_and_shipping_rounded_half_up() {
        let q = quote(eur(), "DE", &[line("a", 1, 1_050)]).unwrap();
        // (1050 + 500) * 19 % = 294.5 → 295.
        assert_eq!((q.tax_rate, q.tax, q.total), (1900, 295, 1_845));
        let untaxed = quote(eur(), "US", &[line("a", 1, 1_050)]).unwrap();
        assert_eq!((untaxed.tax, untaxed.total), (0, 1_550));
        assert_eq!(tax(1, 4_999), 0);
        assert_eq!(tax(1, 5_000), 1);
    }

    #[test]
    fn totals_past_the_largest_amount_are_refused() {
        assert_eq!(line_total(MAX_AMOUNT, 2), Err(TooLarge));
        assert_eq!(line_total(i64::MAX, 2), Err(TooLarge));
        let big = line("a", 1, MAX_AMOUNT - 10);
        assert_eq!(quote(eur(), "DE", &[big]), Err(TooLarge));
    }

    #[test]
    fn the_tax_table_is_sorted_and_holds_assigned_codes() {
        for pair in TAX_RATES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{pair:?}");
        }
        for (code, rate) in TAX_RATES {
            assert!(shared::domain::CountryCode::parse(code).is_ok(), "{code}");
            assert!((0..10_000).contains(rate));
        }
    }
}
