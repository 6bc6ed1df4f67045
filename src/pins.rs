//! Pins: the component images, read from the pure-data Nix file the flake also imports.
//! (Being written: see nix/pins.nix.)
