use std::path::Path;
fn main() {
    match obsc::load::load(Path::new(obsc::load::DEFAULT_PLATFORM)) {
        Ok(l) => println!("{:#?}\n{:#?}", l.platform.namespaces.keys().collect::<Vec<_>>(), l.sources),
        Err(d) => eprint!("{d}"),
    }
}
