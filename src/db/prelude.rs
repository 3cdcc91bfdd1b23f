//! What model files import: Diesel's query-building traits and derives, with
//! diesel-async's `RunQueryDsl` (not Diesel's blocking one).

pub use diesel::{
    BoolExpressionMethods, ExpressionMethods, Identifiable, Insertable, JoinOnDsl,
    NullableExpressionMethods, OptionalExtension, QueryDsl, QueryResult, Queryable, Selectable,
    SelectableHelper,
};
pub use diesel_async::RunQueryDsl;
