# The plugin SDK, installed by `cmake --install`: the public headers a plugin
# includes, libpeace (common/CMakeLists.txt), peace.pc and a CMake package
# (find_package(peace) -> peace::peace). Both carry the plugin API version,
# read from peace/plugin.h, the one place it is kept; the release version is
# peace_RELEASE_VERSION / the pc file's `release` variable.
file(STRINGS ${PROJECT_SOURCE_DIR}/common/include/peace/plugin.h _peace_api
     REGEX "^#define PC_PLUGIN_API_(MAJOR|MINOR) [0-9]+$")
string(REGEX REPLACE ".*MAJOR ([0-9]+);.*" "\\1" _peace_api_major "${_peace_api}")
string(REGEX REPLACE ".*MINOR ([0-9]+)$" "\\1" _peace_api_minor "${_peace_api}")
if(NOT _peace_api_major MATCHES "^[0-9]+$" OR NOT _peace_api_minor MATCHES "^[0-9]+$")
  message(FATAL_ERROR "cannot read the plugin API version from peace/plugin.h")
endif()
set(PEACE_PLUGIN_API_VERSION "${_peace_api_major}.${_peace_api_minor}")

include(CMakePackageConfigHelpers)
set(PEACE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/peace)

install(TARGETS peace_sdk EXPORT peaceTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/peace)
install(EXPORT peaceTargets NAMESPACE peace:: DESTINATION ${PEACE_CMAKE_DIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/peaceConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/peaceConfig.cmake INSTALL_DESTINATION ${PEACE_CMAKE_DIR})
# A plugin works with any program of the same plugin API major version.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/peaceConfigVersion.cmake
  VERSION ${PEACE_PLUGIN_API_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/peaceConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/peaceConfigVersion.cmake
        DESTINATION ${PEACE_CMAKE_DIR})

# peace.pc finds its prefix from its own place (${pcfiledir}), so the install
# is relocatable (`cmake --install build --prefix DIR`).
file(RELATIVE_PATH PEACE_PC_TO_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
string(REGEX REPLACE "/$" "" PEACE_PC_TO_PREFIX "${PEACE_PC_TO_PREFIX}")
set(PEACE_PC_DL "")
foreach(lib IN LISTS CMAKE_DL_LIBS)
  string(APPEND PEACE_PC_DL " -l${lib}")
endforeach()
configure_file(${CMAKE_CURRENT_LIST_DIR}/peace.pc.in ${CMAKE_CURRENT_BINARY_DIR}/peace.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/peace.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
