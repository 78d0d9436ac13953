//! The edges: everything that touches the world for one wrangler call (gathering the project's
//! files, writing the credential-free `.env` copies, the prompt, finding the real wrangler, exec,
//! the audit log).

pub mod audit;
pub mod child;
pub mod confirm;
pub mod exec;
pub mod files;
pub mod gather;
pub mod grants;
pub mod jsonc;
pub mod policy_files;
pub mod remote;
pub mod resolve;
pub mod userdb;
