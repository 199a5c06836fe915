//! The three HiGHS calls the `highs` crate does not wrap: reading a solved model's basis,
//! giving a new model a basis to start from, and adding many rows in one call. This is the
//! workspace's only `unsafe` code; each call checks the model's own column and row counts (and
//! a row's column indices) against its buffers before it is made.

#![allow(unsafe_code)]

use highs_sys::HighsInt;

/// HiGHS's basis statuses (`HighsBasisStatus`): at lower bound, basic, at upper bound, free at
/// zero, nonbasic.
const LARGEST_STATUS: HighsInt = 4;

/// HiGHS's return for success (`kHighsStatusOk`).
const OK: HighsInt = 0;

/// The model's (columns, rows), as HiGHS counts them.
fn shape(ptr: *const std::ffi::c_void) -> (usize, usize) {
    // SAFETY: `ptr` is a live `Highs` object owned by a `highs::Model` or `SolvedModel` that the
    // caller borrows for the duration of the call; both functions only read its counts.
    let (cols, rows) = unsafe {
        (
            highs_sys::Highs_getNumCol(ptr),
            highs_sys::Highs_getNumRow(ptr),
        )
    };
    (cols.max(0) as usize, rows.max(0) as usize)
}

/// The basis of `solved` (a status per column, then per row), or None when it has no valid
/// basis.
pub(crate) fn get(solved: &highs::SolvedModel) -> Option<(Vec<i8>, usize)> {
    let ptr = solved.as_ptr();
    let (cols, rows) = shape(ptr);
    let mut col_status: Vec<HighsInt> = vec![0; cols];
    let mut row_status: Vec<HighsInt> = vec![0; rows];
    // SAFETY: `ptr` is live while `solved` is borrowed. Highs_getBasis writes one status per
    // column and per row of the model (its basis vectors have exactly the model's counts when
    // valid, and it returns an error without writing when not), and the buffers have those
    // counts, read from the same model just above.
    let status =
        unsafe { highs_sys::Highs_getBasis(ptr, col_status.as_mut_ptr(), row_status.as_mut_ptr()) };
    if status != OK {
        return None;
    }
    let all = col_status
        .iter()
        .chain(&row_status)
        .map(|&s| (0..=LARGEST_STATUS).contains(&s).then_some(s as i8))
        .collect::<Option<Vec<i8>>>()?;
    Some((all, cols))
}

/// Gives `model` the basis `status` (a status per column, then per row, `cols` columns) to
/// start from; false when its shape is not the model's or HiGHS refuses it (then the model
/// starts from scratch).
pub(crate) fn set(model: &mut highs::Model, status: &[i8], cols: usize) -> bool {
    let ptr = model.as_mut_ptr();
    let (model_cols, model_rows) = shape(ptr);
    if cols != model_cols || status.len() != model_cols + model_rows {
        return false;
    }
    let widened: Vec<HighsInt> = status.iter().map(|&s| HighsInt::from(s)).collect();
    let (col_status, row_status) = widened.split_at(cols);
    // SAFETY: `ptr` is live while `model` is borrowed mutably. Highs_setBasis reads one status
    // per column and per row of the model; the slices have exactly those counts (checked
    // above), and every value is a status HiGHS knows (it returns an error for any other).
    let result =
        unsafe { highs_sys::Highs_setBasis(ptr, col_status.as_ptr(), row_status.as_ptr()) };
    // A warning (1) still sets the basis; an error (−1) does not.
    result >= OK
}

/// Appends `rows` (lower, upper, (column, value) terms) to `model` in one call: HiGHS inserts
/// each added row into its column-wise matrix, so adding rows one at a time costs the whole
/// matrix per row. False, with nothing added, when a term names a column the model does not
/// have, a count does not fit HiGHS's integers, or HiGHS refuses the rows.
pub(crate) fn add_rows(model: &mut highs::Model, rows: &[crate::RowRef]) -> bool {
    if rows.is_empty() {
        return true;
    }
    let ptr = model.as_mut_ptr();
    let (cols, _) = shape(ptr);
    let mut lower = Vec::with_capacity(rows.len());
    let mut upper = Vec::with_capacity(rows.len());
    let mut starts: Vec<HighsInt> = Vec::with_capacity(rows.len());
    let mut index: Vec<HighsInt> = Vec::new();
    let mut value = Vec::new();
    for (lo, hi, terms) in rows {
        let Ok(start) = HighsInt::try_from(index.len()) else {
            return false;
        };
        starts.push(start);
        lower.push(*lo);
        upper.push(*hi);
        for (c, v) in terms.iter() {
            if *c as usize >= cols {
                return false;
            }
            let Ok(c) = HighsInt::try_from(*c) else {
                return false;
            };
            index.push(c);
            value.push(*v);
        }
    }
    let (Ok(num_rows), Ok(num_nz)) = (
        HighsInt::try_from(rows.len()),
        HighsInt::try_from(index.len()),
    ) else {
        return false;
    };
    // SAFETY: `ptr` is live while `model` is borrowed mutably. Highs_addRows reads `num_rows`
    // bounds from `lower` and `upper`, `num_rows` row starts from `starts` and `num_nz` indices
    // and values from `index` and `value`: each buffer has exactly that length (built above),
    // the starts are non-decreasing from 0 and at most `num_nz`, and every index is a column of
    // the model (checked above).
    let result = unsafe {
        highs_sys::Highs_addRows(
            ptr,
            num_rows,
            lower.as_ptr(),
            upper.as_ptr(),
            num_nz,
            starts.as_ptr(),
            index.as_ptr(),
            value.as_ptr(),
        )
    };
    result >= OK
}
