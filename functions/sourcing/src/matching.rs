//! Supplier matching: pure functions from an RFQ and its candidates (seller
//! orgs with their listed products in the RFQ's categories) to one
//! explained result per candidate. docs/sourcing.md states the rules.
//!
//! Hard rules, each with pass/fail and its reason:
//! - legal and compliance, never relaxed: `verified`, `categoryFit`,
//!   `certificates` (valid through the last day of the delivery window),
//!   `allergens` (a product that declares no allergens is not "free from"
//!   anything), `shipsTo`;
//! - practical, relaxed only when fewer than `minSuppliers` qualify:
//!   `capacity` (the product's minimum order fits the line), `leadTime`
//!   (the usual lead time reaches the window's last day).
//!
//! The product rules filter in order: certificates are checked on the
//! products that fit a line's category, allergens on those with valid
//! certificates, capacity on those free from the line's allergens.
//!
//! Those that qualify get a 0–100 score: each known factor's value in 0..1
//! times its weight, over the sum of the known factors' weights.

use serde::{Deserialize, Serialize};
use shared::contracts::org::OrgForSourcing;
use shared::contracts::product::ProductForSourcing;
use time::Date;
use utoipa::ToSchema;

use crate::model::{Delivery, RfqLine};

/// How much each soft factor counts (any non-negative integers, not all 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
// Also read back from stored items: no deny_unknown_fields (an item written
// by a newer version must still read); requests refuse unknown fields in
// shared::http::from_json, and the OpenAPI document marks it closed.
#[serde(rename_all = "camelCase")]
pub struct ScoreWeights {
    #[schema(example = 40, maximum = 100)]
    pub price: u32,
    #[schema(example = 20, maximum = 100)]
    pub lead_time: u32,
    #[schema(example = 15, maximum = 100)]
    pub rating: u32,
    #[schema(example = 15, maximum = 100)]
    pub certification: u32,
    #[schema(example = 10, maximum = 100)]
    pub on_time: u32,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        Self {
            price: 40,
            lead_time: 20,
            rating: 15,
            certification: 15,
            on_time: 10,
        }
    }
}

/// One hard rule's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleResult {
    /// verified, categoryFit, certificates, allergens, shipsTo, capacity, leadTime
    #[schema(example = "certificates")]
    pub rule: String,
    pub passed: bool,
    /// Legal and compliance rules are never relaxed; practical ones may be.
    pub relaxable: bool,
    #[schema(
        example = "haccp expires on 2026-12-03, before the delivery window ends on 2026-12-18"
    )]
    pub reason: String,
}

/// One soft factor of the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScoreFactor {
    /// price, leadTime, rating, certification, onTime
    pub factor: String,
    /// The measured value: price ratio to target, days, stars, schemes, percent.
    pub raw: Option<f64>,
    /// The value in 0..1 the weight applies to.
    pub value: Option<f64>,
    pub weight: u32,
    /// Points of the 0–100 score this factor gives; unknown factors give none
    /// and leave their weight out.
    pub contribution: f64,
    pub known: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Score {
    #[schema(example = 82, maximum = 100)]
    pub total: u32,
    pub factors: Vec<ScoreFactor>,
}

/// A candidate's match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatchResult {
    pub supplier_org_id: String,
    pub supplier_name: String,
    pub qualified: bool,
    /// Practical rules this supplier failed but which were relaxed.
    pub relaxed_rules: Vec<String>,
    pub rules: Vec<RuleResult>,
    /// The RFQ lines it can supply.
    pub lines: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,
}

/// What matching needs of the RFQ.
pub struct Criteria<'a> {
    pub currency: &'a str,
    pub lines: &'a [RfqLine],
    pub delivery: &'a Delivery,
    pub certificates: &'a [String],
    pub weights: ScoreWeights,
    pub min_suppliers: u32,
    pub today: Date,
}

/// A seller org and its listed products in the RFQ's categories.
pub struct Candidate {
    pub org: OrgForSourcing,
    pub products: Vec<ProductForSourcing>,
}

/// All candidates' results, best first, and the practical rules relaxed.
pub struct Outcome {
    pub results: Vec<MatchResult>,
    pub relaxed_rules: Vec<String>,
}

const PRACTICAL: &[&str] = &["capacity", "leadTime"];

pub fn parse_date(raw: &str) -> Option<Date> {
    Date::parse(
        raw,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

/// Matches every candidate against the RFQ.
pub fn match_candidates(criteria: &Criteria<'_>, candidates: &[Candidate]) -> Outcome {
    let mut evaluated: Vec<Evaluation> = candidates.iter().map(|c| evaluate(criteria, c)).collect();
    let strict = evaluated.iter().filter(|e| e.failed().is_empty()).count();
    let mut relaxed_rules: Vec<String> = Vec::new();
    if (strict as u32) < criteria.min_suppliers {
        for evaluation in &mut evaluated {
            let failed = evaluation.failed();
            if !failed.is_empty() && failed.iter().all(|r| PRACTICAL.contains(&r.as_str())) {
                for rule in &failed {
                    if !relaxed_rules.contains(rule) {
                        relaxed_rules.push(rule.clone());
                    }
                }
                evaluation.relaxed = failed;
            }
        }
    }
    let mut results: Vec<MatchResult> = evaluated
        .into_iter()
        .zip(candidates)
        .map(|(evaluation, candidate)| evaluation.finish(criteria, candidate))
        .collect();
    rank(&mut results);
    Outcome {
        results,
        relaxed_rules,
    }
}

/// Best first: qualified before not, then by score, then by org id.
pub fn rank(results: &mut [MatchResult]) {
    results.sort_by(|a, b| {
        let key = |r: &MatchResult| (r.qualified, r.score.as_ref().map_or(0, |s| s.total));
        key(b)
            .cmp(&key(a))
            .then(a.supplier_org_id.cmp(&b.supplier_org_id))
    });
}

/// Why a product fails a rule for a line, or None if it passes.
type ProductRule<'a> = dyn FnMut(usize, &RfqLine) -> Option<String> + 'a;

struct Evaluation {
    rules: Vec<RuleResult>,
    relaxed: Vec<String>,
    /// Per line: the products that pass every product rule but capacity,
    /// and those that also pass capacity.
    compliant: Vec<Vec<usize>>,
    with_capacity: Vec<Vec<usize>>,
}

impl Evaluation {
    fn failed(&self) -> Vec<String> {
        self.rules
            .iter()
            .filter(|r| !r.passed)
            .map(|r| r.rule.clone())
            .collect()
    }

    fn finish(self, criteria: &Criteria<'_>, candidate: &Candidate) -> MatchResult {
        let failed = self.failed();
        let qualified = failed.iter().all(|r| self.relaxed.contains(r));
        let capacity_relaxed = self.relaxed.iter().any(|r| r == "capacity");
        let eligible = if capacity_relaxed {
            &self.compliant
        } else {
            &self.with_capacity
        };
        let lines: Vec<String> = criteria
            .lines
            .iter()
            .zip(eligible)
            .filter(|(_, products)| !products.is_empty())
            .map(|(line, _)| line.id.clone())
            .collect();
        let score = qualified.then(|| score(criteria, candidate, eligible));
        MatchResult {
            supplier_org_id: candidate.org.id.clone(),
            supplier_name: candidate.org.name.clone(),
            qualified,
            relaxed_rules: self.relaxed,
            rules: self.rules,
            lines,
            score,
        }
    }
}

fn rule(name: &str, passed: bool, reason: impl Into<String>) -> RuleResult {
    RuleResult {
        rule: name.to_owned(),
        passed,
        relaxable: PRACTICAL.contains(&name),
        reason: reason.into(),
    }
}

const NOT_CHECKED: &str = "not checked: no product passed the rules before this one";

/// Why a product's certificates fall short of the window, or None if they hold.
pub fn certificate_gap(
    product: &ProductForSourcing,
    required: &[String],
    window_to: Date,
) -> Option<String> {
    for scheme in required {
        let valid_until = product
            .compliance
            .certifications
            .iter()
            .filter(|c| &c.kind == scheme)
            .filter_map(|c| parse_date(&c.expires_on))
            .max();
        match valid_until {
            None => return Some(format!("{}: no {scheme} certificate", product.name)),
            Some(until) if until < window_to => {
                return Some(format!(
                    "{}: {scheme} expires on {until}, before the delivery window ends on {window_to}",
                    product.name
                ));
            }
            Some(_) => {}
        }
    }
    None
}

/// Why a product is not declared free from `free_from`, or None if it is.
pub fn allergen_gap(product: &ProductForSourcing, free_from: &[String]) -> Option<String> {
    if free_from.is_empty() {
        return None;
    }
    let declared = &product.compliance.allergens;
    if declared.is_empty() {
        return Some(format!(
            "{}: declares no allergens, so it is not known to be free from {}",
            product.name,
            free_from.join(", ")
        ));
    }
    for allergen in free_from {
        if let Some(found) = declared.iter().find(|d| d.contains(allergen.as_str())) {
            return Some(format!(
                "{}: declares \"{found}\", not free from {allergen}",
                product.name
            ));
        }
    }
    None
}

fn evaluate(criteria: &Criteria<'_>, candidate: &Candidate) -> Evaluation {
    let org = &candidate.org;
    let window_to = parse_date(&criteria.delivery.window_to).unwrap_or(criteria.today);
    let mut rules = Vec::new();
    rules.push(match (org.is_verified(), org.sells()) {
        (true, true) => rule("verified", true, "a verified selling organization"),
        (false, _) => rule(
            "verified",
            false,
            "the organization is not verified by the platform",
        ),
        (true, false) => rule("verified", false, "the organization does not sell"),
    });

    let listed: Vec<(usize, &ProductForSourcing)> = candidate
        .products
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_listed() && p.seller_org_id == org.id)
        .collect();
    let fit: Vec<Vec<usize>> = criteria
        .lines
        .iter()
        .map(|line| {
            listed
                .iter()
                .filter(|(_, p)| p.category_id == line.category_id)
                .map(|(i, _)| *i)
                .collect()
        })
        .collect();
    let fitting_lines: Vec<&str> = criteria
        .lines
        .iter()
        .zip(&fit)
        .filter(|(_, f)| !f.is_empty())
        .map(|(l, _)| l.id.as_str())
        .collect();
    rules.push(if fitting_lines.is_empty() {
        rule(
            "categoryFit",
            false,
            "lists no product in the categories asked for",
        )
    } else {
        rule(
            "categoryFit",
            true,
            format!("lists products for {}", fitting_lines.join(", ")),
        )
    });

    let products = &candidate.products;
    let filter = |sets: &[Vec<usize>], mut keep: Box<ProductRule<'_>>| {
        let mut kept = Vec::new();
        let mut first_gap = None;
        for (line, set) in criteria.lines.iter().zip(sets) {
            let mut line_kept = Vec::new();
            for &i in set {
                match keep(i, line) {
                    None => line_kept.push(i),
                    Some(gap) => {
                        first_gap.get_or_insert(gap);
                    }
                }
            }
            kept.push(line_kept);
        }
        (kept, first_gap)
    };
    let any = |sets: &[Vec<usize>]| sets.iter().any(|s| !s.is_empty());

    let (certified, cert_gap) = filter(
        &fit,
        Box::new(|i, _| certificate_gap(&products[i], criteria.certificates, window_to)),
    );
    rules.push(if !any(&fit) {
        rule("certificates", false, NOT_CHECKED)
    } else if any(&certified) {
        let reason = if criteria.certificates.is_empty() {
            "no certificate is required".to_owned()
        } else {
            format!(
                "{} valid through {window_to}, the end of the delivery window",
                criteria.certificates.join(", ")
            )
        };
        rule("certificates", true, reason)
    } else {
        rule("certificates", false, cert_gap.unwrap_or_default())
    });

    let (compliant, allergen_reason) = filter(
        &certified,
        Box::new(|i, line| allergen_gap(&products[i], &line.free_from)),
    );
    rules.push(if !any(&certified) {
        rule("allergens", false, NOT_CHECKED)
    } else if any(&compliant) {
        rule(
            "allergens",
            true,
            "declared free from every allergen the lines exclude",
        )
    } else {
        rule("allergens", false, allergen_reason.unwrap_or_default())
    });

    let country = criteria.delivery.country.as_str();
    rules.push(match &org.supply {
        None => rule("shipsTo", false, "declares no delivery countries"),
        Some(supply)
            if supply
                .delivery_countries
                .iter()
                .any(|c| c.as_str() == country) =>
        {
            rule("shipsTo", true, format!("delivers to {country}"))
        }
        Some(_) => rule("shipsTo", false, format!("does not deliver to {country}")),
    });

    let (with_capacity, capacity_reason) = filter(
        &compliant,
        Box::new(|i, line| {
            let product = &products[i];
            (product.minimum_order_quantity > line.quantity).then(|| {
                format!(
                    "{}: minimum order {} is more than the {} asked for {}",
                    product.name, product.minimum_order_quantity, line.quantity, line.id
                )
            })
        }),
    );
    rules.push(if !any(&compliant) {
        rule("capacity", false, NOT_CHECKED)
    } else if any(&with_capacity) {
        rule("capacity", true, "minimum orders fit the quantities asked")
    } else {
        rule("capacity", false, capacity_reason.unwrap_or_default())
    });

    let days_left = (window_to - criteria.today).whole_days();
    rules.push(match &org.supply {
        None => rule("leadTime", false, "declares no lead time"),
        Some(supply) if i64::from(supply.lead_time_days) <= days_left => rule(
            "leadTime",
            true,
            format!(
                "needs {} days; the window ends in {days_left}",
                supply.lead_time_days
            ),
        ),
        Some(supply) => rule(
            "leadTime",
            false,
            format!(
                "needs {} days; the window ends in {days_left}",
                supply.lead_time_days
            ),
        ),
    });

    Evaluation {
        rules,
        relaxed: Vec::new(),
        compliant,
        with_capacity,
    }
}

fn score(criteria: &Criteria<'_>, candidate: &Candidate, eligible: &[Vec<usize>]) -> Score {
    let products = &candidate.products;
    let window_to = parse_date(&criteria.delivery.window_to).unwrap_or(criteria.today);
    let weights = criteria.weights;

    // Price: the best comparable unit price per line against its target
    // (or maximum); at or under target is 1, twice the target 0.
    let mut ratios = Vec::new();
    for (line, set) in criteria.lines.iter().zip(eligible) {
        let Some(target) = line.target_unit_price.or(line.max_unit_price) else {
            continue;
        };
        let best = set
            .iter()
            .map(|&i| &products[i].price)
            .filter(|p| p.currency.as_str() == criteria.currency)
            .map(|p| p.amount)
            .min();
        if let Some(best) = best
            && target > 0
        {
            ratios.push(best as f64 / target as f64);
        }
    }
    let price = (!ratios.is_empty()).then(|| {
        let raw = ratios.iter().sum::<f64>() / ratios.len() as f64;
        (raw, (2.0 - raw).clamp(0.0, 1.0))
    });

    let days_left = (window_to - criteria.today).whole_days().max(1) as f64;
    let lead_time = candidate.org.supply.as_ref().map(|s| {
        let raw = f64::from(s.lead_time_days);
        (raw, (1.0 - raw / days_left).clamp(0.0, 1.0))
    });

    let used: Vec<usize> = {
        let mut all: Vec<usize> = eligible.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    };
    let (sum, count) = used.iter().fold((0, 0), |(s, c), &i| {
        (s + products[i].rating_sum, c + products[i].rating_count)
    });
    let rating = (count > 0).then(|| {
        let raw = sum as f64 / count as f64;
        (raw, (raw / 5.0).clamp(0.0, 1.0))
    });

    let mut schemes: Vec<&str> = used
        .iter()
        .flat_map(|&i| products[i].compliance.certifications.iter())
        .filter(|c| parse_date(&c.expires_on).is_some_and(|d| d >= window_to))
        .map(|c| c.kind.as_str())
        .collect();
    schemes.sort_unstable();
    schemes.dedup();
    let certification = Some((schemes.len() as f64, (schemes.len() as f64 / 4.0).min(1.0)));

    let on_time = candidate
        .org
        .supply
        .as_ref()
        .and_then(|s| s.on_time_percent)
        .map(|p| (f64::from(p), (f64::from(p) / 100.0).clamp(0.0, 1.0)));

    let measured = [
        ("price", weights.price, price),
        ("leadTime", weights.lead_time, lead_time),
        ("rating", weights.rating, rating),
        ("certification", weights.certification, certification),
        ("onTime", weights.on_time, on_time),
    ];
    let known_weight: u32 = measured
        .iter()
        .filter(|(_, _, m)| m.is_some())
        .map(|(_, w, _)| *w)
        .sum();
    let factors: Vec<ScoreFactor> = measured
        .iter()
        .map(|(name, weight, m)| {
            let contribution = match m {
                Some((_, value)) if known_weight > 0 => {
                    round2(value * f64::from(*weight) / f64::from(known_weight) * 100.0)
                }
                _ => 0.0,
            };
            ScoreFactor {
                factor: (*name).to_owned(),
                raw: m.map(|(raw, _)| round2(raw)),
                value: m.map(|(_, value)| round2(value)),
                weight: *weight,
                contribution,
                known: m.is_some(),
            }
        })
        .collect();
    let total = factors
        .iter()
        .map(|f| f.contribution)
        .sum::<f64>()
        .round()
        .clamp(0.0, 100.0) as u32;
    Score { total, factors }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::auth::OrgKind;
    use shared::contracts::org::{SupplyProfile, VerificationFlags};
    use shared::contracts::product::{CertificateForSourcing, ComplianceForSourcing};
    use shared::domain::{CountryCode, Money};

    use crate::model::RfqUnit;

    fn date(raw: &str) -> Date {
        parse_date(raw).unwrap()
    }

    fn line() -> RfqLine {
        RfqLine {
            id: "L1".into(),
            category_id: "produce".into(),
            spec: Some("tomatoes".into()),
            product_id: None,
            quantity: 500,
            unit: RfqUnit::Kg,
            target_unit_price: Some(250),
            max_unit_price: None,
            min_order_quantity: None,
            free_from: vec!["peanuts".into()],
        }
    }

    fn delivery() -> Delivery {
        Delivery {
            country: CountryCode::parse("DE").unwrap(),
            city: "Berlin".into(),
            window_from: "2026-12-14".into(),
            window_to: "2026-12-18".into(),
            cold_chain: false,
            address_id: None,
        }
    }

    fn supplier(id: &str) -> Candidate {
        Candidate {
            org: OrgForSourcing {
                id: id.into(),
                kind: OrgKind::Seller,
                name: format!("Supplier {id}"),
                verification: VerificationFlags {
                    business_verified: true,
                },
                supply: Some(SupplyProfile {
                    delivery_countries: vec![CountryCode::parse("DE").unwrap()],
                    lead_time_days: 7,
                    on_time_percent: None,
                }),
            },
            products: vec![ProductForSourcing {
                id: format!("p-{id}"),
                seller_org_id: id.into(),
                name: format!("Tomatoes of {id}"),
                category_id: "produce".into(),
                price: Money::parse(240, "EUR").unwrap(),
                minimum_order_quantity: 10,
                origin_country: Some("IT".into()),
                compliance: ComplianceForSourcing {
                    certifications: vec![CertificateForSourcing {
                        kind: "haccp".into(),
                        expires_on: "2027-06-30".into(),
                    }],
                    allergens: vec!["none".into()],
                },
                rating_count: 2,
                rating_sum: 9,
                active: true,
                archived_at: None,
            }],
        }
    }

    fn run(candidates: &[Candidate], min_suppliers: u32) -> Outcome {
        let lines = [line()];
        let delivery = delivery();
        let certificates = ["haccp".to_owned()];
        let criteria = Criteria {
            currency: "EUR",
            lines: &lines,
            delivery: &delivery,
            certificates: &certificates,
            weights: ScoreWeights::default(),
            min_suppliers,
            today: date("2026-11-26"),
        };
        match_candidates(&criteria, candidates)
    }

    fn rule_of<'a>(result: &'a MatchResult, name: &str) -> &'a RuleResult {
        result.rules.iter().find(|r| r.rule == name).unwrap()
    }

    #[test]
    fn a_compliant_supplier_qualifies_with_an_explained_score() {
        let outcome = run(&[supplier("a")], 1);
        let a = &outcome.results[0];
        assert!(a.qualified, "{a:?}");
        assert!(a.rules.iter().all(|r| r.passed));
        assert_eq!(a.lines, vec!["L1"]);
        let score = a.score.as_ref().unwrap();
        let price = score.factors.iter().find(|f| f.factor == "price").unwrap();
        assert_eq!(price.raw, Some(0.96));
        assert_eq!(price.value, Some(1.0));
        let on_time = score.factors.iter().find(|f| f.factor == "onTime").unwrap();
        assert!(!on_time.known);
        assert_eq!(on_time.contribution, 0.0);
        // price 40*1 + lead 20*(1-7/22) + rating 15*0.9 + cert 15*0.25, over 90.
        let expected: f64 =
            (40.0 + 20.0 * (1.0 - 7.0 / 22.0) + 15.0 * 0.9 + 15.0 * 0.25) / 90.0 * 100.0;
        assert_eq!(score.total, expected.round() as u32);
        let sum: f64 = score.factors.iter().map(|f| f.contribution).sum();
        assert!((sum - expected).abs() < 0.1);
    }

    #[test]
    fn a_certificate_lapsing_before_the_window_ends_fails() {
        let mut b = supplier("b");
        b.products[0].compliance.certifications[0].expires_on = "2026-12-03".into();
        let outcome = run(&[b], 1);
        let b = &outcome.results[0];
        assert!(!b.qualified);
        let certificates = rule_of(b, "certificates");
        assert!(!certificates.passed);
        assert!(certificates.reason.contains("haccp expires on 2026-12-03"));
        assert!(b.score.is_none());
        // Valid today is not enough: the last day of the window counts.
        let mut edge = supplier("e");
        edge.products[0].compliance.certifications[0].expires_on = "2026-12-18".into();
        assert!(run(&[edge], 1).results[0].qualified);
    }

    #[test]
    fn unknown_or_traced_allergens_are_not_free_from() {
        let mut c = supplier("c");
        c.products[0].compliance.allergens = vec!["may contain peanuts".into()];
        let mut u = supplier("u");
        u.products[0].compliance.allergens = Vec::new();
        let outcome = run(&[c, u], 1);
        for result in &outcome.results {
            assert!(!result.qualified);
            assert!(!rule_of(result, "allergens").passed);
        }
        let c = outcome
            .results
            .iter()
            .find(|r| r.supplier_org_id == "c")
            .unwrap();
        assert!(rule_of(c, "allergens").reason.contains("peanuts"));
        let u = outcome
            .results
            .iter()
            .find(|r| r.supplier_org_id == "u")
            .unwrap();
        assert!(
            rule_of(u, "allergens")
                .reason
                .contains("declares no allergens")
        );
    }

    #[test]
    fn unverified_elsewhere_or_off_category_suppliers_fail_with_reasons() {
        let mut unverified = supplier("v");
        unverified.org.verification.business_verified = false;
        let mut abroad = supplier("w");
        abroad.org.supply.as_mut().unwrap().delivery_countries =
            vec![CountryCode::parse("FR").unwrap()];
        let mut bakery = supplier("x");
        bakery.products[0].category_id = "bread".into();
        let outcome = run(&[unverified, abroad, bakery], 1);
        let by = |id: &str| {
            outcome
                .results
                .iter()
                .find(|r| r.supplier_org_id == id)
                .unwrap()
        };
        assert!(!rule_of(by("v"), "verified").passed);
        assert!(
            rule_of(by("w"), "shipsTo")
                .reason
                .contains("does not deliver to DE")
        );
        assert!(!rule_of(by("x"), "categoryFit").passed);
        assert_eq!(rule_of(by("x"), "certificates").reason, NOT_CHECKED);
        assert!(outcome.results.iter().all(|r| !r.qualified));
    }

    #[test]
    fn only_practical_rules_relax_when_too_few_qualify() {
        let mut slow = supplier("s");
        slow.org.supply.as_mut().unwrap().lead_time_days = 40;
        let mut lapsing = supplier("l");
        lapsing.org.supply.as_mut().unwrap().lead_time_days = 40;
        lapsing.products[0].compliance.certifications.clear();
        // Enough strict suppliers: nothing relaxes.
        let strict = run(&[supplier("a"), slow, lapsing], 1);
        assert!(strict.relaxed_rules.is_empty());
        assert_eq!(strict.results.iter().filter(|r| r.qualified).count(), 1);

        let mut slow = supplier("s");
        slow.org.supply.as_mut().unwrap().lead_time_days = 40;
        let mut lapsing = supplier("l");
        lapsing.org.supply.as_mut().unwrap().lead_time_days = 40;
        lapsing.products[0].compliance.certifications.clear();
        let relaxed = run(&[supplier("a"), slow, lapsing], 3);
        assert_eq!(relaxed.relaxed_rules, vec!["leadTime"]);
        let s = relaxed
            .results
            .iter()
            .find(|r| r.supplier_org_id == "s")
            .unwrap();
        assert!(s.qualified);
        assert_eq!(s.relaxed_rules, vec!["leadTime"]);
        let l = relaxed
            .results
            .iter()
            .find(|r| r.supplier_org_id == "l")
            .unwrap();
        assert!(!l.qualified, "a compliance failure never relaxes");
        // Best first: the strict supplier outranks the relaxed one.
        assert_eq!(relaxed.results[0].supplier_org_id, "a");
    }

    #[test]
    fn a_cheaper_supplier_scores_higher_on_price() {
        let a = supplier("a");
        let mut dear = supplier("d");
        dear.products[0].price = Money::parse(400, "EUR").unwrap();
        let outcome = run(&[dear, a], 1);
        assert_eq!(outcome.results[0].supplier_org_id, "a");
        let d = &outcome.results[1];
        let price = d
            .score
            .as_ref()
            .unwrap()
            .factors
            .iter()
            .find(|f| f.factor == "price")
            .unwrap();
        assert_eq!(price.raw, Some(1.6));
        assert_eq!(price.value, Some(0.4));
    }

    #[test]
    fn a_minimum_order_above_the_quantity_fails_capacity() {
        let mut big = supplier("b");
        big.products[0].minimum_order_quantity = 1000;
        let outcome = run(&[big], 1);
        let capacity = rule_of(&outcome.results[0], "capacity");
        assert!(!capacity.passed && capacity.relaxable);
        assert!(capacity.reason.contains("minimum order 1000"));
    }
}
