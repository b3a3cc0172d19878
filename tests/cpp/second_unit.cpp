// A second translation unit of the raii.cpp program that includes the C++ wrapper as well: the program
// only links if nothing in the header is defined twice.
#include <pieces_os_client.hpp>

std::string snapshot_from_second_unit(const pieces::Client &client) {
    return client.snapshot(pieces::Transferables::Exclude);
}
