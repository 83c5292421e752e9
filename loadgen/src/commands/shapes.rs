//! `loadgen shapes [SHAPE]`: print plans.

use crate::cli::ShapesArgs;
use crate::error::exit;
use crate::plan::scaled_shape;
use crate::shape::{print, NAMES};
use crate::Error;

pub fn shapes(args: &ShapesArgs) -> Result<u8, Error> {
    let names: Vec<&str> = match &args.shape {
        Some(name) => vec![name.as_str()],
        None => NAMES.to_vec(),
    };
    for name in names {
        println!("{}", print::describe(&scaled_shape(name, &args.scale)?));
    }
    Ok(exit::PASSED)
}
