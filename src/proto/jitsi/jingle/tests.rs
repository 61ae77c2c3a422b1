//! Tests of the Jingle model (golden fixtures, answers, hostile input).
