//! `loadgen shapes [SHAPE]`: print plans.

use crate::cli::ShapesArgs;
use crate::shape::{Shape, NAMES};
use crate::{shape_print, Error};

pub fn shapes(args: &ShapesArgs) -> Result<u8, Error> {
    let names: Vec<String> = match &args.shape {
        Some(name) => vec![name.clone()],
        None => NAMES.iter().map(|n| n.to_string()).collect(),
    };
    for name in names {
        let shape = Shape::named(&name)
            .map_err(Error::Usage)?
            .scaled(args.scale.users, args.scale.duration);
        shape.validate().map_err(Error::Usage)?;
        println!("{}", shape_print::describe(&shape));
    }
    Ok(crate::error::exit::PASSED)
}
