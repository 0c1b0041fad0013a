// Parsing of human-written sizes such as "256M" or "2G".
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vessel {

// Parses "4096", "64K", "256M", "2G", "1T" (binary units, optional trailing
// "B" or "iB"). Returns nullopt for anything malformed or overflowing 64 bits.
std::optional<uint64_t> parse_size(std::string_view text);

}  // namespace vessel
