//! `make bench`: the time matching takes for 1,000 candidate suppliers with
//! 5 products each (pure: no storage), p50 and p99 over many runs.
//!
//! Usage: cargo run --profile benchmark -p sourcing --example matching_bench [-- --quick]

use std::time::{Duration, Instant};

use shared::auth::OrgKind;
use shared::contracts::org::{OrgForSourcing, SupplyProfile, VerificationFlags};
use shared::contracts::product::{
    CertificateForSourcing, ComplianceForSourcing, ProductForSourcing,
};
use shared::domain::{CountryCode, Money};
use sourcing::matching::{Candidate, Criteria, ScoreWeights, match_candidates, parse_date};
use sourcing::model::{Delivery, RfqLine, RfqUnit};

const SUPPLIERS: usize = 1000;
const PRODUCTS_EACH: usize = 5;

fn candidates() -> Vec<Candidate> {
    (0..SUPPLIERS)
        .map(|i| {
            let id = format!("org-{i:04}");
            Candidate {
                org: OrgForSourcing {
                    id: id.clone(),
                    kind: OrgKind::Seller,
                    name: format!("Supplier {i}"),
                    verification: VerificationFlags {
                        business_verified: i % 10 != 0,
                    },
                    supply: Some(SupplyProfile {
                        delivery_countries: vec![
                            CountryCode::parse(if i % 7 == 0 { "FR" } else { "DE" }).unwrap(),
                        ],
                        lead_time_days: (i % 30) as u32,
                        on_time_percent: (i % 3 == 0).then_some(90),
                    }),
                },
                products: (0..PRODUCTS_EACH)
                    .map(|j| ProductForSourcing {
                        id: format!("{id}-p{j}"),
                        seller_org_id: id.clone(),
                        name: format!("Product {j}"),
                        category_id: if j % 2 == 0 { "produce" } else { "dairy" }.into(),
                        price: Money::parse(200 + (i * j % 150) as i64, "EUR").unwrap(),
                        minimum_order_quantity: 10 * j as i64,
                        origin_country: Some("IT".into()),
                        compliance: ComplianceForSourcing {
                            certifications: vec![CertificateForSourcing {
                                kind: "haccp".into(),
                                expires_on: if (i + j) % 5 == 0 {
                                    "2026-12-01"
                                } else {
                                    "2027-12-31"
                                }
                                .into(),
                            }],
                            allergens: if (i + j) % 4 == 0 {
                                vec![]
                            } else {
                                vec!["milk".into()]
                            },
                        },
                        rating_count: (i % 5) as i64,
                        rating_sum: (i % 5 * 4) as i64,
                        active: true,
                        archived_at: None,
                    })
                    .collect(),
            }
        })
        .collect()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let runs = if quick { 3 } else { 200 };
    let lines: Vec<RfqLine> = ["produce", "dairy"]
        .iter()
        .enumerate()
        .map(|(i, category)| RfqLine {
            id: format!("L{}", i + 1),
            category_id: (*category).into(),
            spec: Some("bench".into()),
            product_id: None,
            quantity: 500,
            unit: RfqUnit::Kg,
            target_unit_price: Some(250),
            max_unit_price: None,
            min_order_quantity: None,
            free_from: vec!["peanuts".into()],
        })
        .collect();
    let delivery = Delivery {
        country: CountryCode::parse("DE").unwrap(),
        city: "Berlin".into(),
        window_from: "2026-12-14".into(),
        window_to: "2026-12-18".into(),
        cold_chain: false,
        address_id: None,
    };
    let certificates = vec!["haccp".to_owned()];
    let criteria = Criteria {
        currency: "EUR",
        lines: &lines,
        delivery: &delivery,
        certificates: &certificates,
        weights: ScoreWeights::default(),
        min_suppliers: 3,
        today: parse_date("2026-11-26").unwrap(),
    };
    let candidates = candidates();
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut qualified = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let outcome = match_candidates(&criteria, &candidates);
        times.push(started.elapsed());
        qualified = outcome.results.iter().filter(|r| r.qualified).count();
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "matching {SUPPLIERS} suppliers x {PRODUCTS_EACH} products, 2 lines: p50 {:?}, p99 {:?} over {runs} runs ({qualified} qualify)",
        at(0.5),
        at(0.99)
    );
}
