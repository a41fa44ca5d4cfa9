// One-symbol shim for running TorchSharp 0.107's libLibTorchSharp.so on a GCC 12 libstdc++ (Debian 12).
//
// The library is built with GCC 13, whose <iostream> makes every user reference
// std::ios_base_library_init()@GLIBCXX_3.4.32: an empty marker whose only job is to pull in a libstdc++
// new enough to initialise the standard streams itself. GCC 12's libstdc++ (up to GLIBCXX_3.4.30) lacks
// the symbol, and initialises streams through std::ios_base::Init objects instead, so this shim
// exports the marker under that version and holds one Init object to keep cout/cerr usable.
// Loaded with LD_PRELOAD by the bench driver, for the TorchSharp worker only.
#include <ios>

namespace {
std::ios_base::Init keep_streams_initialised;
}

extern "C" __attribute__((visibility("default"))) void _ZSt21ios_base_library_initv() {}
