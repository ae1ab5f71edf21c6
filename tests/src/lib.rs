//! Test helpers shared by the black-box tests.
