//! Takes the Swagger UI files that `GET /docs` serves out of the release
//! archive vendored by `utoipa-swagger-ui-vendored` and writes them to
//! `OUT_DIR`, where `src/docs.rs` embeds them.

use std::io::Read;
use std::path::Path;

/// The files of Swagger UI's `dist/` folder the page loads.
const FILES: [&str; 2] = ["swagger-ui.css", "swagger-ui-bundle.js"];

fn main() {
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let archive = std::io::Cursor::new(utoipa_swagger_ui_vendored::SWAGGER_UI_VENDORED);
    let mut zip = zip::ZipArchive::new(archive).expect("the vendored Swagger UI is a zip archive");
    for file in FILES {
        let suffix = format!("/dist/{file}");
        let name = zip
            .file_names()
            .find(|name| name.ends_with(&suffix) && name.matches('/').count() == 2)
            .unwrap_or_else(|| panic!("the vendored Swagger UI has no dist/{file}"))
            .to_owned();
        let mut bytes = Vec::new();
        zip.by_name(&name)
            .and_then(|mut entry| Ok(entry.read_to_end(&mut bytes)?))
            .unwrap_or_else(|err| panic!("reading {name} from the vendored Swagger UI: {err}"));
        std::fs::write(Path::new(&out_dir).join(file), bytes)
            .unwrap_or_else(|err| panic!("writing {file} to OUT_DIR: {err}"));
    }
    println!("cargo:rerun-if-changed=build.rs");
}
