// A contiguous slice of a loaded dataset's rows, for sharded audits (engine/shard.h): the shard's
// model sees only these rows. The slice keeps the whole dataset's number of classes, so the
// statistics of every shard have the same shape and merge exactly.
#pragma once

#include <cstdint>
#include <memory>

#include "datasets/dataset.h"

namespace greenlight {

// Rows [begin, end) of `whole`, which must outlive the slice. info() is the whole dataset's with
// `rows` set to the slice's. Throws InputError unless 0 <= begin <= end <= whole.rows().
std::unique_ptr<Dataset> SliceRows(const Dataset& whole, int64_t begin, int64_t end);

// The same for a source: Read(b, e) of the slice reads rows [begin + b, begin + e) of `whole`,
// which must outlive the slice.
std::unique_ptr<DatasetSource> SliceRows(const DatasetSource& whole, int64_t begin, int64_t end);

}  // namespace greenlight
