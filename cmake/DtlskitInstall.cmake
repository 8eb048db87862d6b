# Install rules and package metadata, included at the end of the top-level
# CMakeLists.txt:
#   lib/libdtlskit.a, lib/libdtlskit.so*     (static and shared library)
#   include/dtlskit/*.h                        (public headers)
#   bin/dtlskit                                (the CLI, when tools/ is built)
#   lib/pkgconfig/dtlskit.pc                   (pkg-config, Requires.private: libcrypto)
#   lib/cmake/dtlskit/dtlskitConfig*.cmake     (find_package(dtlskit): dtlskit::dtlskit,
#                                               dtlskit::dtlskit_static)
# and the CTest test install.consumer, which installs into a temporary prefix
# and builds tests/install/consumer.c through both.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(DK_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/dtlskit")

# dtlskit::dtlskit is the shared library, dtlskit::dtlskit_static the static one.
set_target_properties(dtlskit_shared PROPERTIES EXPORT_NAME dtlskit)
set_target_properties(dtlskit_static PROPERTIES EXPORT_NAME dtlskit_static)

install(TARGETS dtlskit_shared dtlskit_static EXPORT dtlskitTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/dtlskit
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
if(TARGET dtlskit)
  install(TARGETS dtlskit RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(EXPORT dtlskitTargets NAMESPACE dtlskit:: DESTINATION ${DK_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/dtlskitConfig.cmake.in
  ${PROJECT_BINARY_DIR}/dtlskitConfig.cmake
  INSTALL_DESTINATION ${DK_CMAKE_DIR})
# 0.x: a minor release may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/dtlskitConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/dtlskitConfig.cmake
  ${PROJECT_BINARY_DIR}/dtlskitConfigVersion.cmake
  DESTINATION ${DK_CMAKE_DIR})

# pkg-config: paths relative to the .pc file, so that the tree can be installed
# under any prefix (cmake --install --prefix, DESTDIR) and still resolve.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(DK_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH DK_PC_UP "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
  set(DK_PC_PREFIX "\${pcfiledir}/${DK_PC_UP}")
endif()
set(DK_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
set(DK_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
if(NOT IS_ABSOLUTE "${DK_PC_LIBDIR}")
  set(DK_PC_LIBDIR "\${prefix}/${DK_PC_LIBDIR}")
endif()
if(NOT IS_ABSOLUTE "${DK_PC_INCLUDEDIR}")
  set(DK_PC_INCLUDEDIR "\${prefix}/${DK_PC_INCLUDEDIR}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/dtlskit.pc.in ${PROJECT_BINARY_DIR}/dtlskit.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/dtlskit.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

if(DK_BUILD_TESTS)
  set(DK_CONSUMER_CFLAGS "")
  if(DK_SANITIZE)
    set(DK_CONSUMER_CFLAGS "-fsanitize=address,undefined")
  endif()
  add_test(NAME install.consumer
    COMMAND bash ${PROJECT_SOURCE_DIR}/tests/install/run.sh
            ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR}/tests/install
            $<IF:$<TARGET_EXISTS:dtlskit>,1,0>)
  set_tests_properties(install.consumer PROPERTIES TIMEOUT 300 LABELS install
    ENVIRONMENT "CC=${CMAKE_C_COMPILER};DK_CONSUMER_CFLAGS=${DK_CONSUMER_CFLAGS}")
endif()
