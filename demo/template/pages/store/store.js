// Finding the nearest store needs the precise location, so the template
// declares getLocation in requiredPrivateInfos.
Page({
  data: { stores: [] },
  onLoad() {
    wx.getLocation({ type: 'gcj02', success: (res) => this.setData({ lat: res.latitude, lng: res.longitude }) })
  }
})
