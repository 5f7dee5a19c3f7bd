//! The garments a design can be published as: each is one product of the
//! print partner's catalog with its print area. A design's image must
//! cover the print area at [`MIN_DPI`] or more, or the print comes out
//! blurred: publishing refuses it.

/// The least resolution a print file may have on the garment.
pub const MIN_DPI: u32 = 150;

shared::string_enum! {
    /// What a design is printed on.
    Garment {
        Tshirt = "tshirt",
        LongSleeve = "long-sleeve",
        Hoodie = "hoodie",
        ToteBag = "tote-bag",
    }
}

/// What the partner needs to make a garment, and how big it prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GarmentSpec {
    /// The partner's catalog variant (product, colour and size).
    pub catalog_variant_id: u64,
    /// Where the design goes, e.g. `front`.
    pub placement: &'static str,
    /// How it is printed, e.g. `dtg` (direct to garment).
    pub technique: &'static str,
    /// The print area, in hundredths of an inch.
    pub area_width_centi_in: u32,
    pub area_height_centi_in: u32,
}

impl Garment {
    pub fn spec(self) -> GarmentSpec {
        // Printful's front print areas for these products.
        let (catalog_variant_id, width, height) = match self {
            Garment::Tshirt => (4012, 1200, 1600),
            Garment::LongSleeve => (7543, 1200, 1600),
            Garment::Hoodie => (10779, 1500, 1200),
            Garment::ToteBag => (4533, 1500, 1500),
        };
        GarmentSpec {
            catalog_variant_id,
            placement: "front",
            technique: "dtg",
            area_width_centi_in: width,
            area_height_centi_in: height,
        }
    }
}

impl GarmentSpec {
    /// The smallest image, in pixels, that prints the whole area at
    /// [`MIN_DPI`].
    pub fn min_pixels(&self) -> (u32, u32) {
        let px = |centi_in: u32| (centi_in * MIN_DPI).div_ceil(100);
        (px(self.area_width_centi_in), px(self.area_height_centi_in))
    }

    /// Whether a `width`×`height` image prints the area at [`MIN_DPI`].
    pub fn print_ready(&self, width: u32, height: u32) -> bool {
        let (min_width, min_height) = self.min_pixels();
        width >= min_width && height >= min_height
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_print_size_design_fits_a_tshirt_but_not_a_hoodie() {
        // The offline generator draws 1800×2400: 12×16 in at 150 DPI.
        assert_eq!(Garment::Tshirt.spec().min_pixels(), (1800, 2400));
        assert!(Garment::Tshirt.spec().print_ready(1800, 2400));
        assert!(!Garment::Tshirt.spec().print_ready(1024, 1536));
        assert!(!Garment::Hoodie.spec().print_ready(1800, 2400));
        assert!(Garment::Hoodie.spec().print_ready(2250, 1800));
    }
}
