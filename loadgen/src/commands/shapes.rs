//! `loadgen shapes [SHAPE]`: print plans.

use crate::cli::ShapesArgs;
use crate::error::exit;
use crate::plan::scaled_shape;
use crate::shape::{print, NAMES};
use crate::Error;
use std::io::Write;

pub fn shapes(args: &ShapesArgs) -> Result<u8, Error> {
    let names: Vec<&str> = match &args.shape {
        Some(name) => vec![name.as_str()],
        None => NAMES.to_vec(),
    };
    let mut out = std::io::stdout().lock();
    for name in names {
        let text = print::describe(&scaled_shape(name, &args.scale)?);
        // A closed pipe (`loadgen shapes | head`) ends the listing, quietly.
        if writeln!(out, "{text}").is_err() {
            break;
        }
    }
    Ok(exit::PASSED)
}
