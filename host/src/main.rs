fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("plugin-build") {
        let opts = blobsync::plugin::build::BuildOptions {
            dir: args[2].clone().into(),
            out: args.get(3).map(Into::into),
            target_dir: Some("/tmp/ptarget2".into()),
            quiet: false,
        };
        match blobsync::plugin::build::build(&opts) {
            Ok(b) => println!("{}\n{}", b.path.display(), b.info),
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(2)
            }
        }
    }
}
