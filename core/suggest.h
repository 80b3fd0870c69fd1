// "Did you mean" hints: edit distance and the closest of a set of known names or values.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace greenlight {

// Levenshtein distance (insertions, deletions and substitutions of bytes, each costing 1).
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `value` when it is a plausible typo of it: compared without regard to
// ASCII case, within max(1, size / 3) edits. Ties go to the earlier candidate. nullopt when none
// is close or `value` itself is a candidate.
std::optional<std::string> ClosestMatch(std::string_view value,
                                        const std::vector<std::string>& candidates);

// `values` as a short list for messages: "\"no\", \"yes\"", at most `max_shown` of them, then
// "… (N values)". Every value is quoted, so an empty or padded value stays visible.
std::string QuotedList(const std::vector<std::string>& values, size_t max_shown = 10);

}  // namespace greenlight
