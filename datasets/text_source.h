// Text datasets for language models: a plain text file (one document per line or per
// blank-line-separated paragraph) or JSON Lines (one object per line, the document in a named
// field). One document is one row, so the row machinery (selection, blocks, shards, digests)
// applies unchanged. docs/datasets.md, "Text datasets", has the rules.
#pragma once

#include <memory>

#include "datasets/dataset.h"

namespace greenlight {

// Opens spec.path (format "text" or "jsonl"), checks every document, and selects the rows
// spec.Selection() picks. The documents are held in memory (texts()). Throws InputError
// "<file>:<line>[:<column>]: <problem>" on invalid UTF-8, an empty document, a line that is not a
// JSON object, a missing field, a text that is not a string, a label that is not a non-negative
// integer, a group that is not a scalar, or a file without documents.
std::unique_ptr<DatasetSource> OpenTextDataset(const DatasetSpec& spec);

}  // namespace greenlight
