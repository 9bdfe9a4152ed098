package resolvers

// AssetCursorForTest exposes the asset cursor encoding to the external tests,
// so they can forge a cursor of an asset outside the listed page.
var AssetCursorForTest = assetCursor
